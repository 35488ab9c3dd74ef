"""Marking the `mailbox_changes` rows the helpdesk's own transaction wrote with its audit id,
so that the sweep says "by the helpdesk (audit id)" exactly and everything else stays "by another
program", even a web panel's change in the same second (docs/schema.md, "Mailbox changes").

A writer calls `start_changes(conn)` inside its transaction before its first change to a
forward, auto-reply, alias, password hash or sending flag; `audit.record` then marks the rows
written since. Which rows are this transaction's:
- PostgreSQL: the trigger stored `txid_current()`, the same inside this transaction only;
- MariaDB: the trigger stored `CONNECTION_ID()`; the id watermark read here leaves out the
  rows of earlier transactions on the same pooled connection;
- SQLite: one writer at a time; `start_changes` takes the writer lock before it reads the
  watermark, so every row above it is this transaction's.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Per transaction: the highest id before its changes (kept only while the transaction lives).
_WATERMARKS: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

_OWN_ROWS = {
    "sqlite": "id > :w",
    "postgresql": "txn = txid_current()",
    "mysql": "txn = CONNECTION_ID() AND id > :w",
}


def _dialect(conn: Connection) -> str:
    return "mysql" if conn.dialect.name == "mariadb" else conn.dialect.name


# Per engine: whether its database has the columns (`db init` since they came); a database
# from before keeps working, its changes unmarked, until `db init` upgrades it.
_READY: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _ready(conn: Connection) -> bool:
    ready = _READY.get(conn.engine)
    if ready is None:
        from sqlalchemy import inspect

        inspector = inspect(conn)
        ready = inspector.has_table("mailbox_changes") and "audit_id" in {
            c["name"] for c in inspector.get_columns("mailbox_changes")
        }
        _READY[conn.engine] = ready
    return ready


def start_changes(conn: Connection) -> None:
    """Call before the transaction's first tracked change; a second call keeps the first mark."""
    transaction = conn.get_transaction()
    if transaction is None or transaction in _WATERMARKS or not _ready(conn):
        return
    dialect = _dialect(conn)
    if dialect == "sqlite":
        # A write that changes nothing begins the transaction and takes the writer lock, so no
        # other program can add a row between the watermark and this transaction's own rows.
        conn.execute(text("UPDATE mailbox_changes SET id = id WHERE 0 = 1"))
    watermark = 0
    if dialect != "postgresql":
        watermark = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM mailbox_changes")).scalar()
    _WATERMARKS[transaction] = int(watermark or 0)


def mark_changes(conn: Connection, audit_id: int) -> int:
    """Give this transaction's unmarked rows `audit_id`; how many. Nothing without a start."""
    transaction = conn.get_transaction()
    watermark = _WATERMARKS.get(transaction) if transaction is not None else None
    where = _OWN_ROWS.get(_dialect(conn))
    if watermark is None or where is None:
        return 0
    done = conn.execute(
        text(f"UPDATE mailbox_changes SET audit_id = :a WHERE audit_id IS NULL AND {where}"),
        {"a": audit_id, "w": watermark},
    )
    return done.rowcount or 0
