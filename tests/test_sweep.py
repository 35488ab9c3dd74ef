"""The sweep after a takeover on all three databases: changes recorded by the triggers whoever
made them, told apart (helpdesk with its audit row, or another program), external targets
flagged, and undone with a ticket and an audit row."""

from __future__ import annotations

import json

from sqlalchemy import func, insert, select, text, update

from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import aliases, audit_log, delivery_sieve, forwards, mailboxes
from tests.conftest import run_cli

ALICE = "alice@example.org"


def sweep(config_file, *args: str):
    return run_cli("sweep", ALICE, *args, config=config_file)


def changes(config_file) -> list[dict]:
    out = sweep(config_file, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["changes"]


def test_a_forward_written_by_another_program_is_listed_flagged_and_undone(db, config_file):
    with db.begin() as conn:
        mailbox_id = create_mailbox(conn, ALICE)
        create_mailbox(conn, "bob@example.org")
    out = run_cli("forward", "set", ALICE, "--to", "bob@example.org", "--ticket", "T-1",
                  config=config_file)  # fmt: skip
    assert out.returncode == 0, out.stderr
    # Then, as a compromised web panel would: straight into the table, no audit row.
    with db.begin() as conn:
        conn.execute(
            insert(forwards).values(
                mailbox_id=mailbox_id, target="drop@evil.example", keep_copy=True
            )
        )
    listed = changes(config_file)
    evil = [c for c in listed if c["detail"] == "drop@evil.example" and c["op"] == "insert"]
    assert len(evil) == 1
    assert evil[0]["by"] == "other" and evil[0]["external"] is True and evil[0]["undoable"]
    assert evil[0]["who_message"]["text"] == "by another program"
    mine = [c for c in listed if c["detail"] == "bob@example.org" and c["op"] == "insert"]
    assert mine and mine[0]["by"] == "helpdesk" and mine[0]["external"] is False
    assert "by the helpdesk" in mine[0]["who_message"]["text"]
    human = sweep(config_file).stdout
    assert "by another program" in human and "EXTERNAL" in human

    out = sweep(config_file, "--undo", str(evil[0]["id"]), "--ticket", "T-2")
    assert out.returncode == 0, out.stderr
    with db.connect() as conn:
        targets = conn.execute(select(forwards.c.target)).scalars().all()
        assert targets == ["bob@example.org"]
        undo_rows = conn.execute(
            select(audit_log.c.action, audit_log.c.ticket).where(audit_log.c.action == "sweep.undo")
        ).all()
        assert [tuple(r) for r in undo_rows] == [("sweep.undo", "T-2")]
        script = conn.execute(select(delivery_sieve.c.script)).scalar_one()
        assert "evil.example" not in script and "bob@example.org" in script
    # The removal is listed as well, by the helpdesk.
    removal = [c for c in changes(config_file) if c["op"] == "delete"]
    assert removal and removal[0]["by"] == "helpdesk"


def test_aliases_passwords_and_suspensions_are_listed_but_a_password_is_not_undone(db, config_file):
    with db.begin() as conn:
        mailbox_id = create_mailbox(conn, ALICE)
        domain_id = conn.execute(text("SELECT id FROM domains WHERE name = 'example.org'")).scalar()
        conn.execute(insert(aliases).values(domain_id=domain_id, address=ALICE,
                                            target="copy@evil.example"))  # fmt: skip
        conn.execute(
            update(mailboxes).where(mailboxes.c.id == mailbox_id)
            .values(password_hash="$6$x$y", smtp_enabled=False)
        )  # fmt: skip
    listed = {c["kind"]: c for c in changes(config_file)}
    assert set(listed) == {"alias", "password", "sending"}
    assert listed["alias"]["external"] is True
    assert listed["password"]["detail"] == "" and listed["password"]["undoable"] is False
    out = sweep(config_file, "--undo", str(listed["password"]["id"]), "--ticket", "T-3")
    assert out.returncode != 0 and "reset the password" in out.stderr
    out = sweep(config_file, "--undo", str(listed["alias"]["id"]), "--ticket", "chmidt")
    assert out.returncode != 0
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(aliases)).scalar_one() == 1
    for kind in ("alias", "sending"):
        out = sweep(config_file, "--undo", str(listed[kind]["id"]), "--ticket", "T-4")
        assert out.returncode == 0, out.stderr
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(aliases)).scalar_one() == 0
        assert conn.execute(select(mailboxes.c.smtp_enabled)).scalar_one() is True
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 2
