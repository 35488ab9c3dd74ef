"""Since when a listing is seen (on every database), and who sent most in the hour before."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from helpdesk.reputation.dnsbl import Answer, Check
from helpdesk.reputation.history import open_listings, record
from helpdesk.reputation.schema import reputation_listings
from helpdesk.reputation.senders import local_naive, top_senders_before
from helpdesk.sendlog.settings import SendlogSettings
from stack import dns as stack_dns
from tests.conftest import run_cli

T0 = datetime(2026, 11, 30, 9, 0)


def a_check(when: datetime, **states: str) -> Check:
    """states: address -> listed / clear / refused on zen.spamhaus.org."""
    answers = [
        Answer(
            address,
            "zen.spamhaus.org",
            "zen.spamhaus.org",
            state,
            codes=["127.0.0.4"] if state == "listed" else [],
        )
        for address, state in states.items()
    ]
    return Check(when, "127.0.0.1:53", answers)


def rows(db) -> list:
    with db.connect() as conn:
        return conn.execute(select(reputation_listings).order_by(reputation_listings.c.id)).all()


def test_a_listing_keeps_its_first_time_until_it_is_seen_gone(db):
    first = a_check(T0, **{"192.0.2.10": "listed", "198.51.100.25": "clear"})
    record(db, first)
    assert first.answers[0].since == T0
    later = a_check(T0 + timedelta(hours=2), **{"192.0.2.10": "listed"})
    record(db, later)
    assert later.answers[0].since == T0
    # a refused query says nothing: the listing stays open
    record(db, a_check(T0 + timedelta(hours=3), **{"192.0.2.10": "refused"}))
    assert [(a, b, c, d) for a, b, c, d in open_listings(db)] == [
        ("192.0.2.10", "zen.spamhaus.org", "127.0.0.4", T0)
    ]
    record(db, a_check(T0 + timedelta(hours=4), **{"192.0.2.10": "clear"}))
    assert open_listings(db) == []
    (row,) = rows(db)
    assert (row.first_seen, row.last_seen, row.cleared_at) == (
        T0,
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=4),
    )
    again = a_check(T0 + timedelta(hours=5), **{"192.0.2.10": "listed"})
    record(db, again)
    assert again.answers[0].since == T0 + timedelta(hours=5)
    assert len(rows(db)) == 2


def test_the_table_is_created_for_a_database_initialised_before_it(db):
    with db.begin() as conn:
        reputation_listings.drop(conn)
    record(db, a_check(T0, **{"192.0.2.10": "listed"}))
    assert len(rows(db)) == 1


def _arrival(when: datetime, n: int, user: str, rcpt: str) -> str:
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{stamp} 1tH{n:03d}-000AAA-Aa <= {user} H=(pc) [203.0.113.{n % 200}]:5000{n % 10} "
        f"I=[192.0.2.10]:587 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no "
        f'A=dovecot_plain:{user} S=2000 id=m{n}@x T="Hallo" for {rcpt}'
    )


def burst_log(path, listed_local: datetime):
    lines = []
    n = 0
    for minute in range(10, 50):  # 40 messages in the hour before the listing
        n += 1
        lines.append(
            _arrival(
                listed_local - timedelta(minutes=60 - minute),
                n,
                "taken.over@kunde-a.de",
                f"r{n}@gmail.com",
            )
        )
    for minute in (20, 40):
        n += 1
        lines.append(
            _arrival(
                listed_local - timedelta(minutes=minute), n, "normal@kunde-b.de", "freund@web.de"
            )
        )
    n += 1  # two hours before: not in the hour
    lines.append(_arrival(listed_local - timedelta(hours=2), n, "early@kunde-c.de", "x@y.de"))
    for minute in range(1, 30):  # after the listing began: not the cause
        n += 1
        lines.append(
            _arrival(listed_local + timedelta(minutes=minute), n, "later@kunde-d.de", "z@y.de")
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_accounts_that_sent_most_in_the_hour_before(tmp_path):
    listed_utc = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    log = burst_log(tmp_path / "mainlog", local_naive(listed_utc))
    settings = SendlogSettings.from_dict({"paths": [str(log)]})
    senders = top_senders_before(settings, listed_utc)
    assert [(s.user, s.messages) for s in senders] == [
        ("taken.over@kunde-a.de", 40),
        ("normal@kunde-b.de", 2),
    ]


def test_the_command_keeps_the_history_and_names_the_senders(db, config_file, tmp_path, stack):
    resolver = stack.env.get("DNS_RESOLVER")
    assert resolver, "the stack runs without its DNS server"
    now_utc = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    log = burst_log(tmp_path / "mainlog", local_naive(now_utc))
    config_file.write_text(
        config_file.read_text()
        + "[reputation]\n"
        + 'addresses = ["192.0.2.10"]\n'
        + f'resolver = "{resolver}"\n'
        + 'blocklists = ["zen.spamhaus.org"]\n'
        + f'dqs_key = "{stack_dns.TEST_DQS_KEY}"\n'
        + f'[sendlog]\npaths = ["{log}"]\n'
    )
    out = run_cli("reputation", config=config_file)
    assert out.returncode == 0, out.stderr
    assert "LISTED since" in out.stdout
    assert "Accounts that sent most in the hour before" in out.stdout
    top = out.stdout.split("Accounts that sent most", 1)[1].splitlines()[1]
    assert top.strip().startswith("taken.over@kunde-a.de  40 messages")
    first = json.loads(run_cli("reputation", "--json", config=config_file).stdout)
    again = json.loads(run_cli("reputation", "--json", config=config_file).stdout)
    since = {a["since"] for a in first["check"]["answers"]} | {
        a["since"] for a in again["check"]["answers"]
    }
    assert len(since) == 1  # the first check's time, every time
    assert len(rows(db)) == 1
