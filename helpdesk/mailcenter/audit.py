"""The audit log: who did what to which mailbox, under which ticket, and what changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from helpdesk.mailcenter.change_marks import mark_changes
from helpdesk.mailcenter.operator import CLAIMED, Operator, current_operator
from helpdesk.mailcenter.schema import audit_log

__all__ = ["CLAIMED", "AuditEntry", "Operator", "current_operator", "read", "record", "utcnow"]

# Keys whose values must never reach the audit log, whatever a caller passes in.
_SECRET_KEYS = {"password", "password_hash", "new_password", "secret"}


def utcnow() -> datetime:
    """Naive UTC, the form every time column holds (MariaDB DATETIME has no zone)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    operator: str
    client_addr: str | None
    action: str
    target: str
    ticket: str | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat() + "Z",
            "operator": self.operator,
            "client_addr": self.client_addr,
            "action": self.action,
            "target": self.target,
            "ticket": self.ticket,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
        }

    def summary(self) -> str:
        """What changed, in one line: smtp_enabled: true → false."""
        before, after = self.before or {}, self.after or {}
        keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        return ", ".join(f"{k}: {_show(before.get(k))} → {_show(after.get(k))}" for k in keys)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _scrub(values: dict[str, Any] | None) -> str | None:
    if values is None:
        return None
    clean = {k: v for k, v in values.items() if k not in _SECRET_KEYS}
    return json.dumps(clean, ensure_ascii=False, default=str, sort_keys=True)


def record(
    conn: Connection,
    *,
    operator: Operator,
    action: str,
    target: str,
    ticket: str | None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one row; call it inside the transaction of the change it describes, after the
    change: the mailbox_changes rows it wrote get this row's id (change_marks.py)."""
    inserted = conn.execute(
        insert(audit_log).values(
            at=utcnow(),
            operator=operator.user[:128],
            client_addr=operator.client_addr,
            action=action,
            target=target,
            ticket=ticket,
            reason=(reason or None) and reason[:500],
            before=_scrub(before),
            after=_scrub(after),
        )
    )
    mark_changes(conn, inserted.inserted_primary_key[0])


def read(
    conn: Connection,
    *,
    target: str | None = None,
    since: datetime | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Newest first."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    if target:
        query = query.where(audit_log.c.target == target.strip().lower())
    if since:
        query = query.where(audit_log.c.at >= since)
    if action:
        query = query.where(audit_log.c.action == action)
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            operator=row.operator,
            client_addr=row.client_addr,
            action=row.action,
            target=row.target,
            ticket=row.ticket,
            reason=row.reason,
            before=json.loads(row.before) if row.before else None,
            after=json.loads(row.after) if row.after else None,
        )
        for row in conn.execute(query)
    ]
