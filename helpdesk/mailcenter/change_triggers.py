"""Database triggers that record every change an attacker makes after taking over a mailbox
(forwards, auto-replies, aliases, the password hash, the sending flag) into `mailbox_changes`,
whoever writes them: the helpdesk, a web panel, a script (docs/schema.md, "Mailbox changes").

Written as the search triggers are (helpdesk/mailcenter/db.py): one statement list per
database, each safe to run again at every `db init`. Never the hash itself, only that it changed.
"""

from __future__ import annotations

# (table, kind, address of the affected mailbox, what is recorded) for NEW rows; OLD is the same
# with the prefix swapped.
_OWNER = "(SELECT address FROM mailboxes WHERE id = {r}.mailbox_id)"
_WATCHED = [
    ("forwards", "forward", _OWNER, "{r}.target"),
    ("autoreplies", "autoreply", _OWNER, "{r}.subject"),
    ("aliases", "alias", "{r}.address", "{r}.target"),
]
_COLUMNS = "INSERT INTO mailbox_changes (at, address, kind, op, detail) VALUES "


def _insert(now: str, kind: str, op: str, address: str, detail: str, row: str) -> str:
    """`op` is a quoted value, or an expression when it starts with "("."""
    op_sql = op if op.startswith("(") else f"'{op}'"
    return (
        f"{_COLUMNS}({now}, {address.format(r=row)}, '{kind}', {op_sql}, "
        f"SUBSTR({detail.format(r=row)}, 1, 320))"
    )


def _sqlite() -> list[str]:
    now = "datetime('now')"
    out = []
    for table, kind, address, detail in _WATCHED:
        for op, event, row in (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"),
                               ("delete", "DELETE", "OLD")):  # fmt: skip
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS changes_{table}_{op} AFTER {event} ON {table} "
                f"BEGIN {_insert(now, kind, op, address, detail, row)}; END"
            )
    for column, kind, detail in (("password_hash", "password", "''"),
                                 ("smtp_enabled", "sending", "NEW.smtp_enabled")):  # fmt: skip
        out.append(
            f"CREATE TRIGGER IF NOT EXISTS changes_mailboxes_{kind} AFTER UPDATE OF {column} "
            f"ON mailboxes WHEN NEW.{column} IS NOT OLD.{column} BEGIN "
            f"{_COLUMNS}({now}, NEW.address, '{kind}', 'update', {detail}); END"
        )
    return out


def _postgresql() -> list[str]:
    now = "(now() AT TIME ZONE 'UTC')"
    out = []
    for table, kind, address, detail in _WATCHED:
        out.append(
            f"CREATE OR REPLACE FUNCTION changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' THEN "
            f"{_insert(now, kind, 'delete', address, detail, 'OLD')}; "
            f"ELSE {_insert(now, kind, '(lower(TG_OP))', address, detail, 'NEW')}; "
            "END IF; RETURN NULL; END $$"
        )
        out.append(
            f"CREATE OR REPLACE TRIGGER changes_{table} AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION changes_{table}()"
        )
    out.append(
        "CREATE OR REPLACE FUNCTION changes_mailboxes() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN "
        f"{_COLUMNS}({now}, NEW.address, 'password', 'update', ''); END IF; "
        "IF NEW.smtp_enabled IS DISTINCT FROM OLD.smtp_enabled THEN "
        f"{_COLUMNS}({now}, NEW.address, 'sending', 'update', "
        "CASE WHEN NEW.smtp_enabled THEN '1' ELSE '0' END); END IF; RETURN NULL; END $$"
    )
    out.append(
        "CREATE OR REPLACE TRIGGER changes_mailboxes AFTER UPDATE OF password_hash, smtp_enabled "
        "ON mailboxes FOR EACH ROW EXECUTE FUNCTION changes_mailboxes()"
    )
    return out


def _mariadb() -> list[str]:
    now = "UTC_TIMESTAMP()"
    out = []
    for table, kind, address, detail in _WATCHED:
        for op, event, row in (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"),
                               ("delete", "DELETE", "OLD")):  # fmt: skip
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS changes_{table}_{op} AFTER {event} ON {table} "
                f"FOR EACH ROW {_insert(now, kind, op, address, detail, row)}"
            )
    out.append(
        "CREATE TRIGGER IF NOT EXISTS changes_mailboxes_au AFTER UPDATE ON mailboxes "
        "FOR EACH ROW BEGIN IF NOT (NEW.password_hash <=> OLD.password_hash) THEN "
        f"{_COLUMNS}({now}, NEW.address, 'password', 'update', ''); END IF; "
        "IF NOT (NEW.smtp_enabled <=> OLD.smtp_enabled) THEN "
        f"{_COLUMNS}({now}, NEW.address, 'sending', 'update', NEW.smtp_enabled); END IF; END"
    )
    return out


def register(metadata) -> None:
    """Create the triggers after the tables, on every database."""
    from sqlalchemy import DDL, event

    for dialects, statements in ((("sqlite",), _sqlite()), (("postgresql",), _postgresql()),
                                 (("mysql", "mariadb"), _mariadb())):  # fmt: skip
        for statement in statements:
            for dialect in dialects:
                ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
                event.listen(metadata, "after_create", ddl)
