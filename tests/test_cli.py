"""The command line as scripts see it: exit codes, --json on stdout, one-line errors."""

from __future__ import annotations

import json
import os
import pwd
from datetime import datetime

from helpdesk.mailcenter.demo import generate
from helpdesk.mailcenter.mailboxes import create_mailbox
from tests.conftest import run_cli


def seed(db):
    with db.begin() as conn:
        create_mailbox(
            conn,
            "jürgen@example.de".replace("ü", "ue"),
            realname="Jürgen Weiß",
            customer_ref="KD-123456",
            password_hash="$6$rounds=5000$salt$hash",
        )
        create_mailbox(conn, "info@example.de", realname="Büro", customer_ref="KD-123456")


def test_find_json_contract(db, config_file):
    seed(db)
    out = run_cli("find", "weiss", "--json", config=config_file)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total"] == 1
    [hit] = data["results"]
    assert hit["address"] == "juergen@example.de" and hit["match"] == "name"
    assert "password_hash" not in hit
    # --json before the command works as well
    again = run_cli("--json", "find", "KD-123456", config=config_file)
    assert {r["address"] for r in json.loads(again.stdout)["results"]} == {
        "juergen@example.de",
        "info@example.de",
    }


def test_find_nothing_exits_nonzero(db, config_file):
    out = run_cli("find", "zzzzzz", config=config_file)
    assert out.returncode == 1 and "0 matches" in out.stdout


def test_show_never_shows_the_hash(db, config_file):
    seed(db)
    out = run_cli("show", "JUERGEN@example.de", "--json", config=config_file)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["realname"] == "Jürgen Weiß" and data["status"] == "active"
    assert "$6$" not in out.stdout and "password_hash" not in data
    human = run_cli("show", "juergen@example.de", config=config_file)
    assert "$6$" not in human.stdout and "Jürgen Weiß" in human.stdout


def test_suspend_reinstate_and_audit(db, config_file):
    seed(db)
    out = run_cli(
        "suspend",
        "juergen@example.de",
        "--ticket",
        "T-1",
        "--reason",
        "spam",
        "--json",
        config=config_file,
        # Claims from the environment: SUDO_USER without sudo as the parent counts for nothing,
        # the SSH client address is kept but marked (tests/test_operator.py for the rest).
        env={"SSH_CONNECTION": "198.51.100.7 5022 10.0.0.1 22", "SUDO_USER": "maria"},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["smtp_enabled"] is False
    again = run_cli("suspend", "juergen@example.de", "--ticket", "T-1", config=config_file)
    assert again.returncode == 1
    assert (
        again.stderr.strip() == "helpdesk: juergen@example.de is already suspended; nothing changed"
    )
    run_cli("reinstate", "juergen@example.de", "--ticket", "T-2", config=config_file)
    audit = json.loads(
        run_cli("audit", "--target", "juergen@example.de", "--json", config=config_file).stdout
    )
    assert [e["action"] for e in audit] == ["reinstate", "suspend"]
    assert audit[1]["operator"] == pwd.getpwuid(os.getuid()).pw_name
    assert audit[1]["client_addr"] == "198.51.100.7 (claimed)"
    assert audit[1]["before"] == {"smtp_enabled": True}
    assert audit[1]["after"] == {"smtp_enabled": False}
    recent = json.loads(run_cli("audit", "--since", "1h", "--json", config=config_file).stdout)
    assert len(recent) == 2


def test_unknown_mailbox_one_line_and_nothing_written(db, config_file):
    out = run_cli("suspend", "nobody@example.de", "--ticket", "T-1", config=config_file)
    assert out.returncode == 1
    assert out.stderr == "helpdesk: no mailbox nobody@example.de\n"
    audit = run_cli("audit", "--json", config=config_file)
    assert json.loads(audit.stdout) == []


def test_ticket_is_required(db, config_file):
    seed(db)
    out = run_cli("suspend", "juergen@example.de", config=config_file)
    assert out.returncode == 2 and "--ticket" in out.stderr


def test_demo_is_deterministic_and_refuses_a_full_database(db, config_file):
    out = run_cli(
        "db",
        "demo",
        "--mailboxes",
        "120",
        "--domains",
        "12",
        "--seed",
        "7",
        "--json",
        config=config_file,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["mailboxes"] == 120 and summary["domains"] == 12
    first = json.loads(run_cli("find", "a", "--limit", "5", "--json", config=config_file).stdout)
    again = run_cli("db", "demo", "--mailboxes", "120", "--domains", "12", config=config_file)
    assert again.returncode == 1 and "already holds 120 mailboxes" in again.stderr
    rows = [
        r
        for t, batch in generate(
            mailboxes_count=120, domains_count=12, seed=7, now=datetime(2026, 11, 1, 9)
        )
        if t == "mailboxes"
        for r in batch
    ]
    # Same seed, same data: the database holds exactly what the generator yields.
    expected = sorted(r["address"] for r in rows if r["address"].startswith("a"))[:5]
    assert [h["address"] for h in first["results"]] == expected


def test_unreachable_database_is_one_line_without_password(tmp_path):
    config = tmp_path / "h.toml"
    config.write_text(
        '[database]\nurl = "postgresql+psycopg://helpdesk:s3cret-pw@127.0.0.1:1/mc"\n'
    )
    config.chmod(0o600)
    out = run_cli("find", "x", config=config)
    assert out.returncode == 1
    assert out.stderr.startswith("helpdesk: cannot reach the database")
    assert "s3cret-pw" not in out.stderr and out.stderr.count("\n") == 1


TICKET_PATTERN = "^[A-Za-z]{1,10}[-_ #]?[0-9]{1,10}$"
# What typing `schmidt` or `peter` leaves in a ticket field after the first letter opened it.
NOT_TICKETS = ["chmidt", "eter"]
WRITES = {
    "suspend": ["suspend", "juergen@example.de", "--ticket"],
    "reinstate": ["reinstate", "juergen@example.de", "--ticket"],
    "passwd": ["passwd", "juergen@example.de", "--generate", "--ticket"],
    "campaign": ["passwd", "campaign", "--before", "2099-01-01", "--apply", "--ticket"],
    "spam set": ["spam", "set", "juergen@example.de", "--rule", "6:junk", "--ticket"],
    "spam regenerate": ["spam", "regenerate", "--ticket"],
    "release": ["release", "<a@b.example>", "--user", "juergen@example.de", "--ticket"],
    "revoke": ["revoke", "1", "--ticket"],
}


def _dump(db) -> list:
    from sqlalchemy import select

    from helpdesk.mailcenter.schema import audit_log, mailboxes, outbound_releases

    with db.connect() as conn:
        return [
            list(conn.execute(select(table).order_by(*table.primary_key.columns)))
            for table in (mailboxes, audit_log, outbound_releases)
        ]


def test_every_write_refuses_a_ticket_that_is_not_one(db, config_file):
    seed(db)
    before = _dump(db)
    for ticket in NOT_TICKETS:
        for name, command in WRITES.items():
            out = run_cli(*command, ticket, config=config_file)
            assert out.returncode == 1, (name, out.stderr)
            [line] = out.stderr.splitlines()
            assert f"ticket '{ticket}'" in line and TICKET_PATTERN in line, (name, line)
    assert _dump(db) == before


def test_ticket_pattern_is_read_from_the_config(db, config_file):
    seed(db)
    config_file.write_text(config_file.read_text() + "[ui]\nticket_pattern = '^INC[0-9]+$'\n")
    out = run_cli("suspend", "juergen@example.de", "--ticket", "T-1", config=config_file)
    assert out.returncode == 1 and "^INC[0-9]+$ ([ui] ticket_pattern)" in out.stderr
    out = run_cli("suspend", "juergen@example.de", "--ticket", "INC42", config=config_file)
    assert out.returncode == 0, out.stderr
    config_file.write_text(config_file.read_text().replace("^INC[0-9]+$", "(unclosed"))
    out = run_cli("reinstate", "juergen@example.de", "--ticket", "INC43", config=config_file)
    assert out.returncode == 2 and "[ui] ticket_pattern is not a regular expression" in out.stderr
