"""Reading `mailbox_changes` for one mailbox and saying who made each change."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from helpdesk.i18n import M, Text
from helpdesk.mailcenter.schema import audit_log, domains, mailbox_changes

# The audit row and the change are written in one transaction, seconds apart at most.
ATTRIBUTION_WINDOW = timedelta(seconds=10)
# Which audit actions account for which kind of change.
ACTIONS = {
    "forward": ("forward.",),
    "autoreply": ("autoreply.",),
    "alias": ("alias",),
    "password": ("passwd", "password", "campaign"),
    "sending": ("suspend", "reinstate", "watch"),
}
UNDO_ACTION = "sweep.undo"
KIND_TEXTS = {
    "forward": M("forward"),
    "autoreply": M("auto-reply"),
    "alias": M("alias"),
    "password": M("password"),
    "sending": M("sending"),
}
OP_TEXTS = {"insert": M("added"), "update": M("changed"), "delete": M("removed")}


@dataclass(frozen=True)
class Change:
    id: int
    at: datetime
    address: str
    kind: str
    op: str
    detail: str
    audit_id: int | None
    operator: str | None
    external: bool

    @property
    def by_helpdesk(self) -> bool:
        return self.audit_id is not None

    @property
    def undoable(self) -> bool:
        return self.kind != "password" and self.op != "delete"

    def who(self) -> Text:
        if self.audit_id is None:
            return M("by another program")
        return M(
            "by the helpdesk ({operator}, audit {id})", operator=self.operator, id=self.audit_id
        )

    def what(self) -> Text:
        detail = self.detail
        if self.kind == "sending":
            detail = "on" if detail in ("1", "true", "t") else "off"
        text = M("{kind} {op}", kind=KIND_TEXTS.get(self.kind, self.kind), op=OP_TEXTS[self.op])
        if detail:
            text = M("{what}: {detail}", what=text, detail=detail)
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat() + "Z",
            "address": self.address,
            "kind": self.kind,
            "op": self.op,
            "detail": self.detail,
            "by": "helpdesk" if self.by_helpdesk else "other",
            "audit_id": self.audit_id,
            "operator": self.operator,
            "external": self.external,
            "undoable": self.undoable,
            "what_message": self.what().as_json(),
            "who_message": self.who().as_json(),
        }


def _external(conn: Connection, kind: str, detail: str) -> bool:
    if kind not in ("forward", "alias") or "@" not in detail:
        return False
    domain = detail.rsplit("@", 1)[1].lower()
    return conn.execute(select(domains.c.id).where(domains.c.name == domain)).first() is None


def _audit_for(conn: Connection, row: Any) -> tuple[int | None, str | None]:
    """The helpdesk's audit row that accounts for the change: same mailbox, kind of action and
    moment, and (for a forward, alias or auto-reply) naming what was added or removed."""
    prefixes = (*ACTIONS.get(row.kind, ()), UNDO_ACTION)
    # As audit.record stores it: JSON, non-ASCII kept.
    needle = json.dumps(row.detail or "", ensure_ascii=False)[1:-1]
    named = row.kind in ("forward", "alias", "autoreply") and bool(needle)
    candidates = conn.execute(
        select(
            audit_log.c.id,
            audit_log.c.action,
            audit_log.c.operator,
            audit_log.c.before,
            audit_log.c.after,
        ).where(
            audit_log.c.target.in_([row.address or "", (row.detail or "").lower()]),
            audit_log.c.at >= row.at - ATTRIBUTION_WINDOW,
            audit_log.c.at <= row.at + ATTRIBUTION_WINDOW,
        )
    ).all()
    for candidate in candidates:
        if not candidate.action.startswith(prefixes):
            continue
        side = candidate.before if row.op == "delete" else candidate.after
        if named and needle not in (side or ""):
            continue
        return candidate.id, candidate.operator
    return None, None


def list_changes(conn: Connection, address: str, since: datetime) -> list[Change]:
    """The mailbox's changes since `since`, newest first; aliases delivering to it included."""
    address = address.strip().lower()
    rows = conn.execute(
        select(mailbox_changes)
        .where(
            or_(
                mailbox_changes.c.address == address,
                (mailbox_changes.c.kind == "alias") & (mailbox_changes.c.detail == address),
            ),
            mailbox_changes.c.at >= since,
        )
        .order_by(mailbox_changes.c.at.desc(), mailbox_changes.c.id.desc())
        .limit(500)
    ).all()
    out = []
    for row in rows:
        audit_id, operator = _audit_for(conn, row)
        out.append(
            Change(
                id=row.id,
                at=row.at,
                address=row.address or "",
                kind=row.kind,
                op=row.op,
                detail=row.detail or "",
                audit_id=audit_id,
                operator=operator,
                external=_external(conn, row.kind, row.detail or ""),
            )
        )
    return out
