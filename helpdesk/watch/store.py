"""The watcher's rows: its position in each log, and per account the lock it takes before it
acts and the evidence it acted on (tables watch_positions, watch_accounts)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import NotFound
from helpdesk.mailcenter.audit import Operator, record, utcnow
from helpdesk.mailcenter.change_marks import start_changes
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import get_mailbox
from helpdesk.mailcenter.schema import audit_log, mailboxes, watch_accounts, watch_positions
from helpdesk.watch.evidence import Crossing


@dataclass(frozen=True)
class Position:
    device: int
    inode: int
    offset: int


def load_position(db: Database, path: str) -> Position | None:
    with db.connect() as conn:
        row = conn.execute(select(watch_positions).where(watch_positions.c.path == path)).first()
    return None if row is None else Position(row.device, row.inode, row.offset)


def save_position(db: Database, path: str, position: Position) -> None:
    values = {
        "device": position.device,
        "inode": position.inode,
        "offset": position.offset,
        "updated_at": utcnow(),
    }
    with db.begin() as conn:
        done = conn.execute(
            update(watch_positions).where(watch_positions.c.path == path).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(watch_positions).values(path=path, **values))


def file_identity(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _ensure_row(db: Database, address: str) -> None:
    try:
        with db.begin() as conn:
            found = conn.execute(
                select(watch_accounts.c.address).where(watch_accounts.c.address == address)
            ).first()
            if found is None:
                conn.execute(insert(watch_accounts).values(address=address, notified=False))
    except IntegrityError:
        pass  # another watcher inserted it meanwhile: the row is there, which is all we need


def as_utc(when: datetime) -> datetime:
    """A log time (naive, the machine's zone, as Exim writes it) as naive UTC, like the tables."""
    return when.astimezone(UTC).replace(tzinfo=None)


def suspend(
    db: Database, crossing: Crossing, *, ticket: str, operator: Operator
) -> datetime | None:
    """Suspend sending of the account once, under its row lock; the time, or None when another
    watcher (or an operator) already did, the evidence is older than the last suspension, or an
    operator reinstated the account after the evidence began (they have seen it)."""
    _ensure_row(db, crossing.address)
    first = as_utc(min(h.time for h in crossing.evidence))
    latest = as_utc(max(h.time for h in crossing.evidence))
    evidence = [
        {"kind": h.kind, "time": h.time.isoformat(), "key": h.key, "line": h.line[:500]}
        for h in crossing.evidence
    ]
    with db.begin() as conn:
        lock = conn.execute(
            select(watch_accounts)
            .where(watch_accounts.c.address == crossing.address)
            .with_for_update()
        ).one()
        if lock.suspended_at is not None and lock.suspended_at >= first:
            return None  # acted on this burst already (a restart that read it again)
        try:
            mailbox = get_mailbox(conn, crossing.address)
        except NotFound:
            return None
        if not mailbox.smtp_enabled:
            return None
        reinstated = conn.execute(
            select(audit_log.c.id).where(
                audit_log.c.target == mailbox.address,
                audit_log.c.action == "reinstate",
                audit_log.c.at >= first,
            )
        ).first()
        if reinstated is not None:
            return None
        start_changes(conn)
        if not _suspend_row(conn, mailbox.id, mailbox.version):
            return None
        now = utcnow()
        reason = crossing.reason.english()
        record(
            conn,
            operator=operator,
            action="suspend",
            target=mailbox.address,
            ticket=ticket,
            reason=f"helpdesk watch: {reason}",
            before={"smtp_enabled": True},
            after={"smtp_enabled": False, "evidence": evidence},
        )
        conn.execute(
            update(watch_accounts)
            .where(watch_accounts.c.address == crossing.address)
            .values(
                suspended_at=max(now, latest),
                reason=reason[:500],
                evidence=json.dumps(evidence, ensure_ascii=False),
                watcher=operator.user[:128],
                notified=False,
            )
        )
    return now


def _suspend_row(conn: Connection, mailbox_id: int, version: int) -> bool:
    """The version-checked write of smtp_enabled = false (someone else's change wins)."""
    done = conn.execute(
        update(mailboxes)
        .where(and_(mailboxes.c.id == mailbox_id, mailboxes.c.version == version))
        .values(smtp_enabled=False, version=version + 1)
    )
    return done.rowcount == 1


def mark_notified(db: Database, address: str) -> None:
    with db.begin() as conn:
        conn.execute(
            update(watch_accounts).where(watch_accounts.c.address == address).values(notified=True)
        )


def last_action(conn: Connection) -> tuple[str, datetime, str | None] | None:
    """(address, when, reason) of the watcher's latest suspension, or None."""
    row = conn.execute(
        select(watch_accounts.c.address, watch_accounts.c.suspended_at, watch_accounts.c.reason)
        .where(watch_accounts.c.suspended_at.is_not(None))
        .order_by(watch_accounts.c.suspended_at.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.address, row.suspended_at, row.reason)
