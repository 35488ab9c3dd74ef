"""Database triggers that record every change an attacker makes after taking over a mailbox
(forwards, auto-replies, aliases, the password hash, the sending flag) into `mailbox_changes`,
whoever writes them: the helpdesk, a web panel, a script (docs/schema.md, "Mailbox changes").

Each row also gets the writer's transaction (PostgreSQL: `txid_current()`) or connection
(MariaDB: `CONNECTION_ID()`) in `txn`, so that the helpdesk can mark exactly the rows its own
transaction wrote with its audit id (helpdesk/mailcenter/change_marks.py). `db init` replaces the
triggers and adds the columns on a database from before (every statement is safe to run again).
Never the hash itself, only that it changed.
"""

from __future__ import annotations

from typing import Any

# (table, kind, address of the affected mailbox, what is recorded) for NEW rows; OLD is the same
# with the prefix swapped.
_OWNER = "(SELECT address FROM mailboxes WHERE id = {r}.mailbox_id)"
_WATCHED = [
    ("forwards", "forward", _OWNER, "{r}.target"),
    ("autoreplies", "autoreply", _OWNER, "{r}.subject"),
    ("aliases", "alias", "{r}.address", "{r}.target"),
]
# Who wrote the row, as each database can tell it inside a trigger; SQLite needs none (its
# writer lock makes an id watermark exact).
_TXN = {"sqlite": "NULL", "postgresql": "txid_current()", "mysql": "CONNECTION_ID()"}
_NOW = {
    "sqlite": "datetime('now')",
    "postgresql": "(now() AT TIME ZONE 'UTC')",
    "mysql": "UTC_TIMESTAMP()",
}
_UPDATE, _EMPTY = "'update'", "''"
# Columns added after the table first shipped: `db init` adds them to an existing database.
LATER_COLUMNS = [("txn", "BIGINT"), ("audit_id", "INTEGER")]


def _values(db: str, address: str, kind: str, op: str, detail: str) -> str:
    return (
        "INSERT INTO mailbox_changes (at, address, kind, op, detail, txn) VALUES "
        f"({_NOW[db]}, {address}, '{kind}', {op}, {detail}, {_TXN[db]})"
    )


def _insert(db: str, kind: str, op: str, address: str, detail: str, row: str) -> str:
    """`op` is a quoted value, or an expression when it starts with "("."""
    op_sql = op if op.startswith("(") else f"'{op}'"
    return _values(
        db, address.format(r=row), kind, op_sql, f"SUBSTR({detail.format(r=row)}, 1, 320)"
    )


def _sqlite() -> list[str]:
    out = []
    for table, kind, address, detail in _WATCHED:
        for op, event, row in (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"),
                               ("delete", "DELETE", "OLD")):  # fmt: skip
            name = f"changes_{table}_{op}"
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                f"BEGIN {_insert('sqlite', kind, op, address, detail, row)}; END"
            )
    for column, kind, detail in (("password_hash", "password", _EMPTY),
                                 ("smtp_enabled", "sending", "NEW.smtp_enabled")):  # fmt: skip
        name = f"changes_mailboxes_{kind}"
        out.append(f"DROP TRIGGER IF EXISTS {name}")
        out.append(
            f"CREATE TRIGGER {name} AFTER UPDATE OF {column} "
            f"ON mailboxes WHEN NEW.{column} IS NOT OLD.{column} BEGIN "
            f"{_values('sqlite', 'NEW.address', kind, _UPDATE, detail)}; END"
        )
    return out


def _postgresql() -> list[str]:
    out = []
    for table, kind, address, detail in _WATCHED:
        out.append(
            f"CREATE OR REPLACE FUNCTION changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' THEN "
            f"{_insert('postgresql', kind, 'delete', address, detail, 'OLD')}; "
            f"ELSE {_insert('postgresql', kind, '(lower(TG_OP))', address, detail, 'NEW')}; "
            "END IF; RETURN NULL; END $$"
        )
        out.append(
            f"CREATE OR REPLACE TRIGGER changes_{table} AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION changes_{table}()"
        )
    sending = "CASE WHEN NEW.smtp_enabled THEN '1' ELSE '0' END"
    out.append(
        "CREATE OR REPLACE FUNCTION changes_mailboxes() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN "
        f"{_values('postgresql', 'NEW.address', 'password', _UPDATE, _EMPTY)}; END IF; "
        "IF NEW.smtp_enabled IS DISTINCT FROM OLD.smtp_enabled THEN "
        f"{_values('postgresql', 'NEW.address', 'sending', _UPDATE, sending)}; "
        "END IF; RETURN NULL; END $$"
    )
    out.append(
        "CREATE OR REPLACE TRIGGER changes_mailboxes AFTER UPDATE OF password_hash, smtp_enabled "
        "ON mailboxes FOR EACH ROW EXECUTE FUNCTION changes_mailboxes()"
    )
    return out


def _mariadb() -> list[str]:
    out = []
    for table, kind, address, detail in _WATCHED:
        for op, event, row in (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"),
                               ("delete", "DELETE", "OLD")):  # fmt: skip
            out.append(
                f"CREATE OR REPLACE TRIGGER changes_{table}_{op} AFTER {event} ON {table} "
                f"FOR EACH ROW {_insert('mysql', kind, op, address, detail, row)}"
            )
    out.append(
        "CREATE OR REPLACE TRIGGER changes_mailboxes_au AFTER UPDATE ON mailboxes "
        "FOR EACH ROW BEGIN IF NOT (NEW.password_hash <=> OLD.password_hash) THEN "
        f"{_values('mysql', 'NEW.address', 'password', _UPDATE, _EMPTY)}; END IF; "
        "IF NOT (NEW.smtp_enabled <=> OLD.smtp_enabled) THEN "
        f"{_values('mysql', 'NEW.address', 'sending', _UPDATE, 'NEW.smtp_enabled')}; "
        "END IF; END"
    )
    return out


def statements(dialect: str) -> list[str]:
    """The trigger DDL for one database (`mysql` for MariaDB and MySQL)."""
    makers = {"sqlite": _sqlite, "postgresql": _postgresql, "mysql": _mariadb}
    maker = makers.get("mysql" if dialect == "mariadb" else dialect)
    return maker() if maker else []


def upgrade(connection: Any) -> None:
    """The columns and index `mailbox_changes` gained later, then the triggers (replaced)."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    have = {c["name"] for c in inspector.get_columns("mailbox_changes")}
    for column, ddl in LATER_COLUMNS:
        if column not in have:
            connection.exec_driver_sql(f"ALTER TABLE mailbox_changes ADD COLUMN {column} {ddl}")
    indexes = {i["name"] for i in inspector.get_indexes("mailbox_changes")}
    if "ix_mailbox_changes_txn" not in indexes:
        connection.exec_driver_sql("CREATE INDEX ix_mailbox_changes_txn ON mailbox_changes (txn)")
    todo = statements(connection.dialect.name)
    if connection.dialect.name == "sqlite":
        stored = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
        todo = unchanged_left_out(todo, {row[0] for row in stored})
    for statement in todo:
        connection.exec_driver_sql(statement)


def unchanged_left_out(todo: list[str], stored: set[str]) -> list[str]:
    """SQLite's statements without the DROP/CREATE pairs of triggers stored as they are.

    Every schema change makes SQLite fail the statements other programs have prepared
    ("database schema has changed"): Dovecot's user lookups and dict do not prepare again,
    so a `db init` on a current database would refuse the mail being delivered just then."""
    out: list[str] = []
    for k, statement in enumerate(todo):
        create = todo[k + 1] if statement.startswith("DROP TRIGGER") and k + 1 < len(todo) else ""
        if statement in stored or create in stored:
            continue
        out.append(statement)
    return out


def register(metadata: Any) -> None:
    """Upgrade and (re)create the triggers after the tables, at every `db init`."""
    from sqlalchemy import event

    event.listen(metadata, "after_create", lambda _target, connection, **_kw: upgrade(connection))
