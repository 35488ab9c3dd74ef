"""Reading and writing a mailbox's forward and auto-reply, each write with its audit row and
the regenerated Sieve part in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection

from helpdesk.errors import PolicyError
from helpdesk.forwards.model import AutoReply, Forward, check_autoreply, check_forward
from helpdesk.forwards.script import generate
from helpdesk.i18n import M
from helpdesk.mailcenter.audit import Operator, record, utcnow
from helpdesk.mailcenter.change_marks import start_changes
from helpdesk.mailcenter.mailboxes import Mailbox
from helpdesk.mailcenter.schema import aliases, autoreplies, delivery_sieve, forwards
from helpdesk.mailcenter.tickets import check_ticket
from helpdesk.sieve.limits import DELIVERY_EXTENSIONS, script_id


def load_forward(conn: Connection, mailbox: Mailbox) -> Forward | None:
    rows = conn.execute(
        select(forwards).where(forwards.c.mailbox_id == mailbox.id).order_by(forwards.c.id)
    ).all()
    if not rows:
        return None
    first = rows[0]
    return Forward(
        tuple(r.target for r in rows), bool(first.keep_copy), first.starts_at, first.ends_at
    )


def load_autoreply(conn: Connection, mailbox: Mailbox) -> AutoReply | None:
    row = conn.execute(select(autoreplies).where(autoreplies.c.mailbox_id == mailbox.id)).first()
    if row is None:
        return None
    return AutoReply(row.subject, row.body, row.days, row.starts_at, row.ends_at)


def reply_addresses(conn: Connection, mailbox: Mailbox) -> list[str]:
    """The mailbox's address and the enabled aliases that deliver to it."""
    rows = conn.execute(
        select(aliases.c.address)
        .where(aliases.c.target == mailbox.address, aliases.c.enabled)
        .order_by(aliases.c.address)
    )
    return list(dict.fromkeys([mailbox.address, *(r.address for r in rows)]))


def active(item: Forward | AutoReply | None, now: datetime) -> bool:
    if item is None:
        return False
    if item.starts_at is not None and item.starts_at > now:
        return False
    return item.ends_at is None or item.ends_at >= now


def _check_spam_part(conn: Connection, mailbox: Mailbox) -> None:
    """The spam part this one follows must require its extensions and end spam with `stop`
    (scripts written before forwards moved into Sieve do not): else delivery would fail."""
    spam = conn.execute(
        text("SELECT script FROM spam_sieve WHERE username = :u"), {"u": mailbox.address}
    ).scalar()
    require = (spam or "").split("\nrequire ", 1)[-1].split("];", 1)[0]
    if spam is not None and not all(f'"{e}"' in require for e in DELIVERY_EXTENSIONS):
        raise PolicyError(
            M(
                "the spam scripts are older than forwards in Sieve: run `helpdesk spam "
                "regenerate` first; nothing changed"
            )
        )


def regenerate(conn: Connection, mailbox: Mailbox) -> str | None:
    """Write the mailbox's Sieve part from its rows; its standalone script, or None."""
    _check_spam_part(conn, mailbox)
    part = generate(
        load_forward(conn, mailbox),
        load_autoreply(conn, mailbox),
        reply_addresses(conn, mailbox),
        label=mailbox.address,
    )
    conn.execute(delete(delivery_sieve).where(delivery_sieve.c.mailbox_id == mailbox.id))
    if part is None:
        return None
    body, script = part
    conn.execute(
        insert(delivery_sieve).values(
            mailbox_id=mailbox.id,
            body=body,
            script=script,
            script_id=script_id(script),
            updated_at=utcnow(),
        )
    )
    return script


def stored_part(conn: Connection, mailbox: Mailbox) -> str | None:
    return conn.execute(
        select(delivery_sieve.c.script).where(delivery_sieve.c.mailbox_id == mailbox.id)
    ).scalar()


def _json(item: Forward | AutoReply | None) -> dict[str, Any] | None:
    return item.as_json() if item is not None else None


def set_forward(
    conn: Connection,
    mailbox: Mailbox,
    forward: Forward,
    *,
    ticket: str | None,
    reason: str | None,
    operator: Operator,
) -> Forward:
    ticket = check_ticket(ticket)
    start_changes(conn)
    forward = check_forward(forward, mailbox.address, utcnow())
    before = load_forward(conn, mailbox)
    conn.execute(delete(forwards).where(forwards.c.mailbox_id == mailbox.id))
    for target in forward.targets:
        conn.execute(
            insert(forwards).values(
                mailbox_id=mailbox.id,
                target=target,
                keep_copy=forward.keep_copy,
                starts_at=forward.starts_at,
                ends_at=forward.ends_at,
            )
        )
    regenerate(conn, mailbox)
    record(conn, operator=operator, action="forward.set", target=mailbox.address,
           ticket=ticket, reason=reason, before={"forward": _json(before)},
           after={"forward": forward.as_json()})  # fmt: skip
    return forward


def clear_forward(
    conn: Connection, mailbox: Mailbox, *, ticket: str | None, reason: str | None,
    operator: Operator,
) -> Forward:  # fmt: skip
    ticket = check_ticket(ticket)
    start_changes(conn)
    before = load_forward(conn, mailbox)
    if before is None:
        raise PolicyError(M("{address} has no forward; nothing changed", address=mailbox.address))
    conn.execute(delete(forwards).where(forwards.c.mailbox_id == mailbox.id))
    regenerate(conn, mailbox)
    record(conn, operator=operator, action="forward.clear", target=mailbox.address,
           ticket=ticket, reason=reason, before={"forward": before.as_json()},
           after={"forward": None})  # fmt: skip
    return before


def set_autoreply(
    conn: Connection,
    mailbox: Mailbox,
    reply: AutoReply,
    *,
    ticket: str | None,
    reason: str | None,
    operator: Operator,
) -> AutoReply:
    ticket = check_ticket(ticket)
    start_changes(conn)
    reply = check_autoreply(reply, utcnow())
    before = load_autoreply(conn, mailbox)
    values = {
        "subject": reply.subject,
        "body": reply.body,
        "days": reply.days,
        "starts_at": reply.starts_at,
        "ends_at": reply.ends_at,
        "updated_at": utcnow(),
    }
    if before is None:
        conn.execute(insert(autoreplies).values(mailbox_id=mailbox.id, **values))
    else:
        conn.execute(
            update(autoreplies).where(autoreplies.c.mailbox_id == mailbox.id).values(**values)
        )
    regenerate(conn, mailbox)
    record(conn, operator=operator, action="autoreply.set", target=mailbox.address,
           ticket=ticket, reason=reason, before={"autoreply": _json(before)},
           after={"autoreply": reply.as_json()})  # fmt: skip
    return reply


def clear_autoreply(
    conn: Connection, mailbox: Mailbox, *, ticket: str | None, reason: str | None,
    operator: Operator,
) -> AutoReply:  # fmt: skip
    ticket = check_ticket(ticket)
    start_changes(conn)
    before = load_autoreply(conn, mailbox)
    if before is None:
        raise PolicyError(
            M("{address} has no auto-reply; nothing changed", address=mailbox.address)
        )
    conn.execute(delete(autoreplies).where(autoreplies.c.mailbox_id == mailbox.id))
    regenerate(conn, mailbox)
    record(conn, operator=operator, action="autoreply.clear", target=mailbox.address,
           ticket=ticket, reason=reason, before={"autoreply": before.as_json()},
           after={"autoreply": None})  # fmt: skip
    return before
