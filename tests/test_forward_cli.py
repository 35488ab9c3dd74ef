"""Forwards and auto-replies through the real `helpdesk forward|autoreply` commands on all three
databases: what Dovecot reads (view helpdesk_sieve), audit rows, refusals that change nothing,
and the combined script compiled and run by Pigeonhole's own tools."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from helpdesk.forwards.model import AutoReply, Forward
from helpdesk.forwards.script import generate
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import aliases, audit_log, forwards
from helpdesk.sieve.limits import SCRIPT_BUDGET, check_size
from helpdesk.spam.ladder import parse_rule
from helpdesk.spam.script import generate as spam_script
from tests.conftest import run_cli
from tests.sieve_tools import SieveBench, require_tools

# Exactly the queries Dovecot's dict-sql map runs (stack/dovecot/sieve-dict.conf.ext.in).
DOVECOT_NAME = "SELECT script_id FROM helpdesk_sieve WHERE script_name = :n AND username = :u"
DOVECOT_DATA = "SELECT script FROM helpdesk_sieve WHERE script_id = :i AND username = :u"
ALICE = "alice@example.org"
TOMORROW = str(date.today() + timedelta(days=2))


@pytest.fixture
def mailcenter(db):
    with db.begin() as conn:
        create_mailbox(conn, ALICE, realname="Alice")
        domain_id = conn.execute(text("SELECT id FROM domains WHERE name = 'example.org'")).scalar()
        conn.execute(
            insert(aliases).values(domain_id=domain_id, address="info@example.org", target=ALICE)
        )
    return db


def dovecot_script(conn, address: str) -> str | None:
    sid = conn.execute(text(DOVECOT_NAME), {"n": "helpdesk-spam", "u": address}).scalar()
    if sid is None:
        return None
    return conn.execute(text(DOVECOT_DATA), {"i": sid, "u": address}).scalar()


def cli(config_file, *args: str):
    return run_cli(*args, config=config_file)


def audit_rows(conn) -> list[tuple[str, str]]:
    rows = conn.execute(select(audit_log.c.action, audit_log.c.ticket).order_by(audit_log.c.id))
    return [tuple(r) for r in rows]


def test_set_show_clear_forward_and_autoreply_with_audit(mailcenter, config_file):
    out = cli(config_file, "forward", "set", ALICE, "--to", "Anna@Colleague.example",
              "--to", "b@other.example", "--until", TOMORROW, "--ticket", "T-18")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "anna@colleague.example, b@other.example" in out.stdout
    data = json.loads(cli(config_file, "forward", "show", ALICE, "--json").stdout)
    assert data["forward"]["targets"] == ["anna@colleague.example", "b@other.example"]
    assert data["forward"]["keep_copy"] is True and data["active"] is True
    assert data["forward"]["ends_at"].startswith(TOMORROW[:4])

    out = cli(config_file, "autoreply", "set", ALICE, "--lang", "de", "--days", "5",
              "--ticket", "T-19")  # fmt: skip
    assert out.returncode == 0, out.stderr
    shown = cli(config_file, "autoreply", "show", ALICE).stdout
    assert "Vielen Dank" in shown and "5" in shown
    with mailcenter.connect() as conn:
        script = dovecot_script(conn, ALICE)
        assert 'redirect :copy "anna@colleague.example";' in script
        assert 'vacation :days 5 :subject "Abwesenheitsnotiz"' in script
        # Mail to the alias is answered as well.
        assert '["alice@example.org", "info@example.org"]' in script
        assert audit_rows(conn) == [("forward.set", "T-18"), ("autoreply.set", "T-19")]

    for kind in ("forward", "autoreply"):
        out = cli(config_file, kind, "clear", ALICE, "--ticket", "T-20")
        assert out.returncode == 0, out.stderr
    with mailcenter.connect() as conn:
        assert dovecot_script(conn, ALICE) is None
        assert [a for a, _ in audit_rows(conn)][-2:] == ["forward.clear", "autoreply.clear"]
    out = cli(config_file, "forward", "clear", ALICE, "--ticket", "T-21")
    assert out.returncode != 0 and "no forward" in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["forward", "set", ALICE, "--to", "not-an-address"], "not a mail address"),
        (["forward", "set", ALICE, "--to", ALICE], "cannot forward to itself"),
        (["forward", "set", ALICE] + [a for n in range(4) for a in ("--to", f"x{n}@b.example")],
         "at most 3"),
        (["forward", "set", ALICE, "--to", "a@b.example", "--until", "2020-01-01"], "in the past"),
        (["forward", "set", ALICE, "--to", "a@b.example", "--from", TOMORROW + " 12:00",
          "--until", TOMORROW + " 08:00"], "start must be before"),
        (["forward", "set", ALICE, "--to", "a@b.example", "--until", "15."], "not a time"),
        (["autoreply", "set", ALICE, "--text", "x" * 4001], "longer than 4,000"),
        (["autoreply", "set", ALICE, "--text", "pay ${x}"], "must not contain ${"),
        (["autoreply", "set", ALICE, "--days", "31"], "from 1 to 30"),
        (["forward", "set", ALICE, "--to", "a@b.example", "--ticket", "chmidt"], "ticket"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_changes_nothing(mailcenter, config_file, args, message):
    if "--ticket" not in args:
        args = [*args, "--ticket", "T-1"]
    out = cli(config_file, *args)
    assert out.returncode != 0
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    with mailcenter.connect() as conn:
        assert conn.execute(select(func.count()).select_from(forwards)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
        assert dovecot_script(conn, ALICE) is None


def test_forward_follows_the_ladder_in_the_script_dovecot_reads(mailcenter, config_file):
    require_tools()
    out = cli(config_file, "spam", "set", ALICE, "--rule", "6:junk", "--allow", "boss@a.example",
              "--ticket", "T-1")  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = cli(config_file, "forward", "set", ALICE, "--to", "c@d.example", "--no-copy",
              "--ticket", "T-2")  # fmt: skip
    assert out.returncode == 0, out.stderr
    with mailcenter.connect() as conn:
        script = dovecot_script(conn, ALICE)
    bench = SieveBench()
    try:
        assert bench.compile(script).returncode == 0
        clean = bench.run(script, score="10")
        assert clean.redirects == ["c@d.example"] and clean.folders == set()
        spam = bench.run(script, score="70")
        assert spam.folders == {"Junk"} and spam.redirects == []
        allowed = bench.run(script, score="70", sender="boss@a.example")
        assert allowed.redirects == ["c@d.example"]
    finally:
        bench.close()


def test_everything_at_its_limits_compiles_and_stays_under_the_budget():
    require_tools()

    def entry(n: int) -> str:
        local = f"s{n:03d}" + "x" * 60
        return f"{local}@" + "d" * (100 - len(local) - 9) + ".example"

    ladder = tuple(parse_rule(f"{4 + n}:junk") for n in range(9)) + (
        parse_rule("20:forward:boss@a.example"),
    )
    spam_part = spam_script(ladder, tuple(entry(n) for n in range(50)),
                            tuple(entry(n) for n in range(50, 100)))  # fmt: skip
    soon = date.today() + timedelta(days=1)
    from datetime import datetime

    start = datetime.combine(soon, datetime.min.time())
    part = generate(
        Forward(
            ("a" * 60 + "@x.example", "b" * 60 + "@x.example", "c" * 60 + "@x.example"),
            False,
            start,
            start + timedelta(days=3),
        ),  # fmt: skip
        AutoReply("S" * 200, "Ä" * 4000, 30, start, start + timedelta(days=3)),
        ["alice@example.org"] + [f"alias{n:02d}-" + "y" * 50 + "@example.org" for n in range(30)],
    )
    assert part is not None
    body, alone = part
    whole = spam_part + body
    check_size(whole, part="whole")
    assert len(whole.encode()) < SCRIPT_BUDGET
    bench = SieveBench()
    try:
        assert bench.compile(whole).returncode == 0
        assert bench.compile(alone).returncode == 0
        # Outside the window (it starts tomorrow): nothing forwarded, the ladder still acts.
        assert bench.run(whole, score="0").redirects == []
        assert bench.run(whole, score="50").folders == {"Junk"}
    finally:
        bench.close()


def test_a_spam_script_from_before_forwards_in_sieve_is_refused_not_broken(mailcenter, config_file):
    from helpdesk.mailcenter.schema import mailboxes, spam_settings

    with mailcenter.begin() as conn:
        alice = conn.execute(select(mailboxes.c.id).where(mailboxes.c.address == ALICE)).scalar()
        conn.execute(
            insert(spam_settings).values(
                scope_key=f"mailbox:{alice}", mailbox_id=alice, ladder="[]",
                script='require ["fileinto"];\nkeep;\n', script_id="old",
            )
        )  # fmt: skip
    out = cli(config_file, "forward", "set", ALICE, "--to", "a@b.example", "--ticket", "T-1")
    assert out.returncode != 0 and "helpdesk spam regenerate" in out.stderr
    with mailcenter.connect() as conn:
        assert conn.execute(select(func.count()).select_from(forwards)).scalar_one() == 0


def test_demo_adds_an_away_mailbox_and_a_holiday_forward(mailcenter, config_file):
    from helpdesk.forwards.demo import add_demo
    from helpdesk.mailcenter.audit import Operator
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with mailcenter.begin() as conn:
        create_mailbox(conn, "bob@example.org")
        add_demo(conn, get_mailbox(conn, ALICE), get_mailbox(conn, "bob@example.org"),
                 "kollege@extern.example", Operator("demo", None))  # fmt: skip
    reply = json.loads(cli(config_file, "autoreply", "show", ALICE, "--json").stdout)
    forward = json.loads(cli(config_file, "forward", "show", "bob@example.org", "--json").stdout)
    assert reply["active"] and "Vielen Dank" in reply["autoreply"]["body"]
    assert forward["active"] and forward["forward"]["targets"] == ["kollege@extern.example"]
