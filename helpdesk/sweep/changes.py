"""Reading `mailbox_changes` for one mailbox and saying who made each change: the helpdesk when
its transaction marked the row with its audit id (helpdesk/mailcenter/change_marks.py), another
program otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from helpdesk.i18n import M, Text
from helpdesk.mailcenter.schema import audit_log, domains, mailbox_changes
from helpdesk.mailcenter.sieve_seen import sieve_seen

UNDO_ACTION = "sweep.undo"
KIND_TEXTS = {
    "forward": M("forward"),
    "autoreply": M("auto-reply"),
    "alias": M("alias"),
    "password": M("password"),
    "sending": M("sending"),
    "rule": M("rule"),
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
    # For a rule: the addresses its script redirects to (as the helpdesk saw that version).
    redirects: tuple[str, ...] = ()

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
        if self.redirects:
            return M(
                "{what}: {detail}, redirects to {targets}",
                what=text,
                detail=detail,
                targets=", ".join(self.redirects),
            )
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
            "redirects": list(self.redirects),
            "undoable": self.undoable,
            "what_message": self.what().as_json(),
            "who_message": self.who().as_json(),
        }


def outside(conn: Connection, targets: list[str]) -> bool:
    """Whether any of the addresses is outside the hoster's domains."""
    for target in targets:
        if "@" not in target:
            continue
        domain = target.rsplit("@", 1)[1].lower()
        if conn.execute(select(domains.c.id).where(domains.c.name == domain)).first() is None:
            return True
    return False


def _redirects(conn: Connection, change_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not change_ids:
        return {}
    rows = conn.execute(
        select(sieve_seen.c.change_id, sieve_seen.c.redirects).where(
            sieve_seen.c.change_id.in_(change_ids)
        )
    ).all()
    return {row.change_id: tuple(row.redirects.split()) for row in rows}


def list_changes(conn: Connection, address: str, since: datetime) -> list[Change]:
    """The mailbox's changes since `since`, newest first; aliases delivering to it included."""
    address = address.strip().lower()
    rows = conn.execute(
        select(mailbox_changes, audit_log.c.operator)
        .outerjoin(audit_log, audit_log.c.id == mailbox_changes.c.audit_id)
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
    redirects = _redirects(conn, [row.id for row in rows if row.kind == "rule"])
    out = []
    for row in rows:
        detail = row.detail or ""
        targets = list(redirects.get(row.id, ()))
        if row.kind in ("forward", "alias"):
            targets = [detail]
        out.append(
            Change(
                id=row.id,
                at=row.at,
                address=row.address or "",
                kind=row.kind,
                op=row.op,
                detail=detail,
                audit_id=row.audit_id,
                operator=row.operator if row.audit_id is not None else None,
                external=outside(conn, targets),
                redirects=redirects.get(row.id, ()),
            )
        )
    return out
