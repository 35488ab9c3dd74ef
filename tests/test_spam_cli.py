"""Spam settings in the database and through the real `helpdesk spam` command, on all three
databases: inheritance, the view Dovecot reads, audit rows, refusals, conflicts, preview."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, insert, select, text

from helpdesk.errors import Conflict
from helpdesk.mailcenter.audit import Operator
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
from helpdesk.mailcenter.schema import audit_log, spam_senders, spam_settings
from helpdesk.sieve.limits import PART_BUDGETS, ScriptTooLarge
from helpdesk.spam import ladder as ladder_model
from helpdesk.spam.demo import demo_rows
from helpdesk.spam.ladder import LadderError, parse_rule
from helpdesk.spam.script import SpamOptions, generate
from helpdesk.spam.settings import ScriptNotStored, load, read_back_rows, save
from tests.conftest import run_cli
from tests.sieve_tools import SieveBench, require_tools

OP = Operator("tester", "192.0.2.7")
OPTS = SpamOptions()
# Exactly the query Dovecot's dict-sql map runs (stack/dovecot/sieve-dict.conf.ext.in).
DOVECOT_NAME = "SELECT script_id FROM spam_sieve WHERE script_name = :n AND username = :u"
DOVECOT_DATA = "SELECT script FROM spam_sieve WHERE script_id = :i AND username = :u"


@pytest.fixture
def mailcenter(db):
    with db.begin() as conn:
        for address in ("alice@example.org", "bob@example.org", "carol@other.example"):
            create_mailbox(conn, address, realname=address.split("@")[0].title())
    return db


def dovecot_script(conn, address: str) -> str | None:
    sid = conn.execute(text(DOVECOT_NAME), {"n": "helpdesk-spam", "u": address}).scalar()
    if sid is None:
        return None
    return conn.execute(text(DOVECOT_DATA), {"i": sid, "u": address}).scalar()


def audit_count(conn) -> int:
    return conn.execute(select(func.count()).select_from(audit_log)).scalar_one()


def spam(config_file, *args):
    return run_cli("spam", *args, config=config_file)


def test_nothing_set_means_no_rules_and_no_script(mailcenter, config_file):
    out = spam(config_file, "show", "alice@example.org", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["inherited"] is True and data["ladder"] == [] and data["allow"] == []
    with mailcenter.connect() as conn:
        assert dovecot_script(conn, "alice@example.org") is None


def test_inheritance_site_domain_mailbox(mailcenter, config_file):
    assert spam(config_file, "set", "*", "--rule", "6:junk", "--ticket", "T-1").returncode == 0
    data = json.loads(spam(config_file, "show", "alice@example.org", "--json").stdout)
    assert data["inherited"] and data["inherited_from"] == "*"
    assert data["ladder"] == [{"score": 6.0, "action": "junk", "arg": None}]

    out = spam(config_file, "set", "@example.org", "--rule", "5:mark", "--rule", "7.5:junk",
               "--ticket", "T-2")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(spam(config_file, "show", "alice@example.org", "--json").stdout)
    assert data["inherited_from"] == "@example.org"
    assert [r["score"] for r in data["ladder"]] == [5.0, 7.5]
    other = json.loads(spam(config_file, "show", "carol@other.example", "--json").stdout)
    assert other["inherited_from"] == "*"

    out = spam(config_file, "set", "alice@example.org", "--rule", "4:junk", "--rule",
               "9.5:delete", "--ticket", "T-3", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["inherited"] is False
    assert data["ladder"] == [
        {"score": 4.0, "action": "junk", "arg": None},
        {"score": 9.5, "action": "delete", "arg": None},
    ]
    with mailcenter.connect() as conn:
        alice = dovecot_script(conn, "alice@example.org")
        bob = dovecot_script(conn, "bob@example.org")
        carol = dovecot_script(conn, "carol@other.example")
    assert '"${score}" "40"' in alice and '"${score}" "95"' in alice
    assert '"${score}" "75"' in bob and '"${score}" "40"' not in bob
    assert '"${score}" "60"' in carol
    printed = spam(config_file, "sieve", "alice@example.org")
    assert printed.returncode == 0 and printed.stdout == alice

    back = spam(config_file, "set", "alice@example.org", "--inherit", "--ticket", "T-4", "--json")
    assert json.loads(back.stdout)["inherited_from"] == "@example.org"
    with mailcenter.connect() as conn:
        assert dovecot_script(conn, "alice@example.org") == bob.replace(
            "example.org", "example.org"
        )
        assert conn.execute(select(func.count()).select_from(spam_settings)).scalar_one() == 2


def test_domain_change_reaches_mailboxes_with_only_sender_lists(mailcenter, config_file):
    spam(config_file, "set", "@example.org", "--rule", "6:junk", "--ticket", "T-1")
    out = spam(config_file, "set", "alice@example.org", "--allow", "@partner.example",
               "--block", "Bad@Spam.example", "--ticket", "T-2", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["inherited"] and data["allow"] == ["@partner.example"]
    assert data["block"] == ["bad@spam.example"]
    spam(config_file, "set", "@example.org", "--rule", "8:junk", "--ticket", "T-3")
    with mailcenter.connect() as conn:
        script = dovecot_script(conn, "alice@example.org")
    assert '"partner.example"' in script and '"${score}" "80"' in script
    assert '"${score}" "60"' not in script


def test_audit_rows_carry_before_and_after(mailcenter, config_file):
    spam(config_file, "set", "alice@example.org", "--rule", "6:junk", "--ticket", "T-9")
    spam(config_file, "set", "alice@example.org", "--rule", "6:junk", "--rule", "9:delete",
         "--allow", "vip@b.example", "--ticket", "T-10", "--reason", "customer call")  # fmt: skip
    with mailcenter.connect() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.action == "spam.set").order_by(audit_log.c.id)
        ).all()
        version = conn.execute(text("SELECT version FROM mailboxes WHERE address = :a"),
                               {"a": "alice@example.org"}).scalar_one()  # fmt: skip
    assert len(rows) == 2 and version == 3
    last = rows[-1]
    assert last.target == "alice@example.org" and last.ticket == "T-10"
    assert last.reason == "customer call"
    assert json.loads(last.before) == {
        "ladder": ["6.0:junk"],
        "inherited": False,
        "allow": [],
        "block": [],
    }
    assert json.loads(last.after) == {
        "ladder": ["6.0:junk", "9.0:delete"], "inherited": False,
        "allow": ["vip@b.example"], "block": [],
    }  # fmt: skip


@pytest.mark.parametrize(
    "args, words",
    [
        (["--rule", "6:junk", "--rule", "6:delete"], "increase strictly"),
        (["--rule", "9:delete", "--rule", "10:junk"], "top rule"),
        (["--rule", "8:forward:alice@example.org"], "mailbox itself"),
        (["--rule", "8:forward:nobody"], "not a valid mail address"),
        (["--rule", "6.55:junk"], "one decimal"),
        (["--rule=-3:junk"], "above 0"),
        (["--allow", "x@y.example", "--block", "x@y.example"], "both"),
        (["--allow", "not an address"], "neither"),
        (["--rule", "6:junk", "--inherit"], "not both"),
        ([], "nothing to set"),
        (
            [a for n in range(1, 12) for a in ("--rule", f"{n}:mark")],
            "a ladder has at most 10 rules; this one has 11",
        ),
        (
            [a for n in range(101) for a in ("--allow", f"p{n}@partner.example")],
            "hold at most 100 senders together; this would be 101 (101 allow, 0 block)",
        ),
        (["--block", "x" * 95 + "@y.example"], "105 characters long; at most 100"),
        (["--rule", "8:forward:${1}@x.example"], "contains ${, which Sieve would expand"),
        (["--allow", "${1}@x.example"], "contains ${, which Sieve would expand"),
        (["--block", "a${score}@x.example"], "contains ${, which Sieve would expand"),
    ],
)
def test_refusals_change_nothing(mailcenter, config_file, args, words):
    spam(config_file, "set", "alice@example.org", "--rule", "5:junk", "--ticket", "T-0")
    with mailcenter.connect() as conn:
        before_audit = audit_count(conn)
        before_script = dovecot_script(conn, "alice@example.org")
    out = spam(config_file, "set", "alice@example.org", *args, "--ticket", "T-1")
    assert out.returncode != 0
    assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    with mailcenter.connect() as conn:
        assert audit_count(conn) == before_audit
        assert dovecot_script(conn, "alice@example.org") == before_script


def test_the_sender_limit_counts_what_is_stored(mailcenter, config_file):
    allow = [a for n in range(100) for a in ("--allow", f"p{n:03d}@partner.example")]
    assert spam(config_file, "set", "bob@example.org", *allow, "--ticket", "T-1").returncode == 0
    with mailcenter.connect() as conn:
        before = (audit_count(conn), dovecot_script(conn, "bob@example.org"))
    out = spam(config_file, "set", "bob@example.org", "--block", "x@y.example", "--ticket", "T-2")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        "the allow and block lists hold at most 100 senders together; "
        "this would be 101 (100 allow, 1 block)"
    )
    with mailcenter.connect() as conn:
        assert (audit_count(conn), dovecot_script(conn, "bob@example.org")) == before
        assert len(dovecot_script(conn, "bob@example.org").encode()) < PART_BUDGETS["spam"]


def stored_rows(conn):
    return (
        audit_count(conn),
        conn.execute(select(spam_settings.c.scope_key, spam_settings.c.script)).all(),
        conn.execute(select(func.count()).select_from(spam_senders)).scalar_one(),
    )


def test_a_script_the_database_cuts_is_refused_by_the_read_back(mailcenter, monkeypatch):
    big = [f"partner{n:05d}@allowed-sender.example" for n in range(900)]
    with mailcenter.begin() as conn:
        save(conn, load(conn, "alice@example.org"), ladder=(parse_rule("6:junk"),),
             allow=["a@b.example"], ticket="T-0", operator=OP, options=OPTS)  # fmt: skip
    with mailcenter.connect() as conn:
        before = stored_rows(conn)

    def attempt(address):
        with mailcenter.begin() as conn:
            if mailcenter.dialect == "mysql":
                # What a server configured without STRICT_TRANS_TABLES does: cut, warn, go on.
                conn.execute(text("SET SESSION sql_mode=''"))
            save(conn, load(conn, address), ladder=None, allow=big, ticket="T-1",
                 operator=OP, options=OPTS)  # fmt: skip

    # The limits alone refuse it on every database: the model's count, then the script budget.
    for address in ("alice@example.org", "bob@example.org"):
        with pytest.raises(LadderError, match="at most 100 senders"):
            attempt(address)
    monkeypatch.setattr(ladder_model, "MAX_SENDERS", 10_000)
    with pytest.raises(ScriptTooLarge, match=f"over the limit of {PART_BUDGETS['spam']} bytes"):
        attempt("alice@example.org")
    monkeypatch.setitem(PART_BUDGETS, "spam", 1_000_000)
    script = generate((parse_rule("6:junk"),), tuple(sorted(big)), label="alice@example.org")
    assert len(script.encode()) > 65_535
    if mailcenter.dialect != "mysql":
        # TEXT on SQLite and PostgreSQL holds it whole: the read-back finds what was written.
        attempt("alice@example.org")
        with mailcenter.connect() as conn:
            assert dovecot_script(conn, "alice@example.org") == script
        return
    # MariaDB, non-strict: the update (alice) and the insert (bob) are cut at 65,535 bytes.
    for address in ("alice@example.org", "bob@example.org"):
        with pytest.raises(ScriptNotStored) as caught:
            attempt(address)
        assert re.fullmatch(
            rf"{address}: the database kept only 65535 of the 7\d{{4}} bytes of the spam script "
            r"\(a non-strict MariaDB sql_mode cuts long text\); nothing was written",
            str(caught.value),
        ), caught.value
    with mailcenter.connect() as conn:
        assert stored_rows(conn) == before


def test_a_character_the_column_cannot_hold_is_refused_by_the_read_back(mailcenter):
    options = SpamOptions(junk_folder="Junk \U0001f4e8")  # four bytes in UTF-8
    if mailcenter.dialect == "mysql":
        # A column left in MariaDB's three-byte utf8 by an older installation, not strict.
        with mailcenter.begin() as conn:
            conn.execute(text(
                "ALTER TABLE spam_settings MODIFY script TEXT CHARACTER SET utf8mb3 NOT NULL"
            ))  # fmt: skip
    with mailcenter.connect() as conn:
        before = stored_rows(conn)

    def attempt():
        with mailcenter.begin() as conn:
            if mailcenter.dialect == "mysql":
                conn.execute(text("SET SESSION sql_mode=''"))
            save(conn, load(conn, "alice@example.org"), ladder=(parse_rule("6:junk"),),
                 ticket="T-1", operator=OP, options=options)  # fmt: skip

    if mailcenter.dialect != "mysql":
        attempt()
        with mailcenter.connect() as conn:
            assert "Junk \U0001f4e8" in dovecot_script(conn, "alice@example.org")
        return
    with pytest.raises(ScriptNotStored) as caught:
        attempt()
    assert re.fullmatch(
        r"alice@example\.org: the database changed the spam script from character \d+ on "
        r"\(its column's character set lacks a character of it\); nothing was written",
        str(caught.value),
    ), caught.value
    with mailcenter.connect() as conn:
        assert stored_rows(conn) == before


def test_lists_over_the_limits_from_before_must_shrink_with_the_next_change(
    mailcenter, config_file
):
    # 5,000 entries written past the limits (an older version, another program).
    with mailcenter.begin() as conn:
        alice = get_mailbox(conn, "alice@example.org").id
        conn.execute(insert(spam_senders), [
            {"mailbox_id": alice, "list": "allow", "sender": f"p{n:04d}@partner.example"}
            for n in range(5000)
        ])  # fmt: skip
        conn.execute(insert(spam_settings).values(
            scope_key=f"mailbox:{alice}", mailbox_id=alice, ladder=None, script="keep;\n",
            script_id="old", version=1,
        ))  # fmt: skip
    with mailcenter.connect() as conn:
        before = stored_rows(conn)

    def refused(*args: str) -> str:
        out = spam(config_file, "set", *args, "--ticket", "T-1")
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and len(lines) == 1, out.stderr
        return lines[0]

    # A default that would regenerate alice's script names her and the sizes.
    assert re.search(
        r"the spam script of alice@example\.org would be \d{6} bytes, "
        r"over the limit of 34000 bytes$",
        refused("@example.org", "--rule", "6:junk"),
    )
    assert refused("alice@example.org", "--rule", "6:junk").endswith(
        "this would be 5000 (5000 allow, 0 block)"
    )
    with mailcenter.connect() as conn:
        assert stored_rows(conn) == before
    # Replacing the list is the way out; then the default goes through.
    for args in (("alice@example.org", "--allow", "p0001@partner.example"),
                 ("@example.org", "--rule", "6:junk")):  # fmt: skip
        out = spam(config_file, "set", *args, "--ticket", "T-2")
        assert out.returncode == 0, out.stderr
    with mailcenter.connect() as conn:
        script = dovecot_script(conn, "alice@example.org")
        shrink = conn.execute(
            select(audit_log.c.before, audit_log.c.after)
            .where(audit_log.c.target == "alice@example.org")
        ).one()  # fmt: skip
    # alice: her one entry, and the domain's new ladder (thresholds are tenths in the script).
    assert '"p0001@partner.example"' in script and "p0002@" not in script
    assert '"${score}" "60"' in script
    # The audit row holds as much of the old list as fits, and says how long it was.
    before = json.loads(shrink.before)
    assert before["allow_total"] == 5000 and len(before["allow"]) == 100
    assert json.loads(shrink.after)["allow"] == ["p0001@partner.example"]


def test_unknown_mailbox_and_missing_ticket(mailcenter, config_file):
    out = spam(config_file, "show", "nobody@example.org")
    assert out.returncode == 1 and "no mailbox nobody@example.org" in out.stderr
    out = spam(config_file, "set", "@nowhere.example", "--rule", "6:junk", "--ticket", "T-1")
    assert out.returncode == 1 and "no domain" in out.stderr
    out = spam(config_file, "set", "alice@example.org", "--rule", "6:junk")
    assert out.returncode == 2  # argparse: --ticket is required


def test_delete_below_nine_is_a_warning(mailcenter, config_file):
    out = spam(config_file, "set", "alice@example.org", "--rule", "6:junk", "--rule",
               "8:delete", "--ticket", "T-1", "--json")  # fmt: skip
    assert out.returncode == 0
    assert "warning: delete from 8.0 is below 9" in out.stderr
    assert json.loads(out.stdout)["warnings"]


def test_unchanged_is_refused(mailcenter, config_file):
    assert spam(config_file, "set", "bob@example.org", "--rule", "6:junk",
                "--ticket", "T-1").returncode == 0  # fmt: skip
    out = spam(config_file, "set", "bob@example.org", "--rule", "6:junk", "--ticket", "T-1")
    assert out.returncode == 1 and "unchanged" in out.stderr


def test_conflict_when_changed_meanwhile(mailcenter):
    with mailcenter.connect() as conn:
        stale_mailbox = load(conn, "alice@example.org")
        stale_domain = load(conn, "@example.org")
    with mailcenter.begin() as conn:
        fresh = load(conn, "alice@example.org")
        save(conn, fresh, ladder=(parse_rule("6:junk"),), ticket="T-1", operator=OP,
             options=OPTS)  # fmt: skip
        save(conn, load(conn, "@example.org"), ladder=(parse_rule("7:junk"),), ticket="T-2",
             operator=OP, options=OPTS)  # fmt: skip
    for stale in (stale_mailbox, stale_domain):
        with pytest.raises(Conflict), mailcenter.begin() as conn:
            save(conn, stale, ladder=(parse_rule("5:mark"),), ticket="T-3", operator=OP,
                 options=OPTS)  # fmt: skip
    with mailcenter.connect() as conn:
        assert [r.spec() for r in load(conn, "alice@example.org").ladder] == ["6.0:junk"]
        assert [r.spec() for r in load(conn, "@example.org").ladder] == ["7.0:junk"]


def test_every_stored_script_compiles(mailcenter, config_file):
    require_tools()
    spam(config_file, "set", "*", "--rule", "6:junk", "--rule", "12:delete", "--ticket", "T-1")
    spam(config_file, "set", "alice@example.org", "--rule", "4:mark", "--rule",
         "7:forward:bob@example.org", "--rule", "9:delete", "--allow", "@partner.example",
         "--block", "x@spam.example", "--ticket", "T-1")  # fmt: skip
    bench = SieveBench()
    try:
        for address in ("alice@example.org", "bob@example.org", "*"):
            script = spam(config_file, "sieve", address).stdout
            result = bench.compile(script)
            assert result.returncode == 0, result.stdout + result.stderr
    finally:
        bench.close()


def test_preview_from_the_mainlog(mailcenter, config_file, tmp_path):
    log = tmp_path / "mainlog"
    lines = []
    for n, (score, sender) in enumerate(
        [(1.2, "a@news.example"), (6.3, "b@x.example"), (-4.0, "c@x.example"),
         (8.1, "vip@partner.example"), (9.7, "d@x.example"), (5.9, "e@x.example")]
    ):  # fmt: skip
        eid = f"1xX4{n}m-0005Mh-25"
        rcpt = "alice@example.org" if n != 5 else "bob@example.org"
        lines.append(f"2026-11-27 10:0{n}:00 {eid} spam-score={score} action=no action "
                     f"rcpt=carol@other.example,{rcpt}")  # fmt: skip
        lines.append(f"2026-11-27 10:0{n}:00 {eid} <= {sender} H=([127.0.0.1]) [127.0.0.1] "
                     f'P=esmtp S=549 id={n}@t T="message {n}" for {rcpt}')  # fmt: skip
    lines.append("garbage line without a time")
    log.write_text("\n".join(lines) + "\n")
    spam(config_file, "set", "alice@example.org", "--rule", "6:junk", "--rule", "9:delete",
         "--allow", "@partner.example", "--ticket", "T-1")  # fmt: skip
    out = spam(config_file, "preview", "alice@example.org", "--log", str(log), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["counts"] == {"inbox": 3, "marked": 0, "junk": 1, "forwarded": 0, "deleted": 1}
    where = {m["sender"]: m["where"] for m in data["messages"]}
    assert where == {"a@news.example": "inbox", "b@x.example": "junk", "c@x.example": "inbox",
                     "vip@partner.example": "inbox", "d@x.example": "deleted"}  # fmt: skip
    # A proposed ladder, not saved: the counts change, the stored ladder does not.
    out = spam(config_file, "preview", "alice@example.org", "--log", str(log), "--rule",
               "1:mark", "--rule", "6:forward:bob@example.org", "--json")  # fmt: skip
    data = json.loads(out.stdout)
    assert data["counts"] == {"inbox": 2, "marked": 3, "junk": 0, "forwarded": 2, "deleted": 0}
    text_out = spam(config_file, "preview", "alice@example.org", "--log", str(log))
    assert text_out.stdout.startswith("5 recent messages: 3 inbox")
    missing = spam(config_file, "preview", "alice@example.org", "--log", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "log file not found" in missing.stderr


def test_demo_rows_insert_and_compile(mailcenter):
    import random

    from sqlalchemy import insert

    from helpdesk.mailcenter.schema import domains, mailboxes

    with mailcenter.begin() as conn:
        mailbox_ids = [r.id for r in conn.execute(select(mailboxes.c.id))]
        domain_ids = [r.id for r in conn.execute(select(domains.c.id))]
        rows = demo_rows(random.Random(3), mailbox_ids, domain_ids, share=1.0)
        conn.execute(insert(spam_settings), rows["spam_settings"])
        if rows["spam_senders"]:
            conn.execute(insert(spam_senders), rows["spam_senders"])
        read_back_rows(conn, rows["spam_settings"])
        # A row the database did not keep as generated is caught the same way.
        changed = {**rows["spam_settings"][0], "script": rows["spam_settings"][0]["script"] + "#"}
        with pytest.raises(ScriptNotStored, match="^site: the database kept only"):
            read_back_rows(conn, [changed])
    with mailcenter.connect() as conn:
        for address in ("alice@example.org", "carol@other.example"):
            settings = load(conn, address)
            assert settings.ladder and not settings.inherited
            assert dovecot_script(conn, address)


def test_other_mailbox_changes_meanwhile_do_not_conflict(mailcenter):
    from helpdesk.mailcenter.mailboxes import get_mailbox, set_sending

    with mailcenter.connect() as conn:
        opened = load(conn, "alice@example.org")
    with mailcenter.begin() as conn:
        set_sending(conn, get_mailbox(conn, "alice@example.org"), False, ticket="T-1",
                    reason=None, operator=OP)  # fmt: skip
    with mailcenter.begin() as conn:
        saved, _ = save(conn, opened, ladder=(parse_rule("6:junk"),), ticket="T-2", operator=OP,
                        options=OPTS)  # fmt: skip
    assert [r.spec() for r in saved.ladder] == ["6.0:junk"]
    with mailcenter.connect() as conn:
        mailbox = get_mailbox(conn, "alice@example.org")
    assert mailbox.version == 3 and not mailbox.smtp_enabled
