"""Undoing one change the sweep lists: what it added is removed, with an audit row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from helpdesk.errors import NotFound, PolicyError
from helpdesk.forwards.store import regenerate
from helpdesk.i18n import M
from helpdesk.mailcenter.audit import Operator, record
from helpdesk.mailcenter.change_marks import start_changes
from helpdesk.mailcenter.mailboxes import get_mailbox
from helpdesk.mailcenter.schema import aliases, autoreplies, forwards, mailbox_changes, mailboxes
from helpdesk.mailcenter.tickets import check_ticket
from helpdesk.sweep.changes import UNDO_ACTION

if TYPE_CHECKING:
    from helpdesk.config import Config


def undo(
    conn: Connection,
    change_id: int,
    *,
    ticket: str | None,
    reason: str | None,
    operator: Operator,
    config: Config | None = None,
) -> dict[str, Any]:
    """Remove what change `change_id` added, or deactivate the customer's script (a `rule`,
    through `config`'s rules command); the audit row's `before`. PolicyError for a password
    change (reset the password instead) and for a removal."""
    ticket = check_ticket(ticket)
    row = conn.execute(select(mailbox_changes).where(mailbox_changes.c.id == change_id)).first()
    if row is None:
        raise NotFound(M("no change {id}", id=change_id))
    if row.kind == "password":
        raise PolicyError(M("a password change cannot be undone: reset the password instead"))
    if row.op == "delete":
        raise PolicyError(M("a removal cannot be undone here; nothing changed"))
    before: dict[str, Any] = {"change": change_id, "kind": row.kind, "detail": row.detail}
    if row.kind == "rule":
        return _deactivate(conn, row, before, config, ticket=ticket, reason=reason,
                           operator=operator)  # fmt: skip
    start_changes(conn)
    if row.kind == "alias":
        done = conn.execute(
            delete(aliases).where(aliases.c.address == row.address, aliases.c.target == row.detail)
        ).rowcount
        target = row.address
    else:
        mailbox = get_mailbox(conn, row.address or "")
        target = mailbox.address
        if row.kind == "forward":
            done = conn.execute(
                delete(forwards).where(
                    forwards.c.mailbox_id == mailbox.id, forwards.c.target == row.detail
                )
            ).rowcount
        elif row.kind == "autoreply":
            done = conn.execute(
                delete(autoreplies).where(autoreplies.c.mailbox_id == mailbox.id)
            ).rowcount
        else:  # sending: back to what it was before
            allowed = row.detail not in ("1", "true", "t")
            done = conn.execute(
                update(mailboxes)
                .where(mailboxes.c.id == mailbox.id)
                .values(smtp_enabled=allowed, version=mailbox.version + 1)
            ).rowcount
            before["smtp_enabled"] = not allowed
        if row.kind in ("forward", "autoreply"):
            regenerate(conn, mailbox)
    if not done:
        raise PolicyError(M("that change is no longer there; nothing changed"))
    record(conn, operator=operator, action=UNDO_ACTION, target=target, ticket=ticket,
           reason=reason, before=before, after={"undone": True})  # fmt: skip
    return before


def _deactivate(
    conn: Connection,
    row: Any,
    before: dict[str, Any],
    config: Config | None,
    *,
    ticket: str,
    reason: str | None,
    operator: Operator,
) -> dict[str, Any]:
    from helpdesk.sweep.rules import deactivate

    address = row.address or ""
    before["active"] = row.detail
    # The audit row first, in the caller's transaction: if deactivating fails, it rolls back.
    record(conn, operator=operator, action=UNDO_ACTION, target=address, ticket=ticket,
           reason=reason, before=before, after={"undone": True, "active": None})  # fmt: skip
    deactivate(config, address, row.detail or "")
    return before
