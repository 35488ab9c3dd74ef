"""Releases: let exactly one message from exactly one customer through rspamd's outbound check.

The database is the record (who, when, ticket, reason, expiry); rspamd reads a file map of
`user|message-id` lines that a multimap rule turns into "accept". The map is never edited
line by line: after every change it is rebuilt from the active releases and saved on every
controller, under a database lock, so concurrent releases all land and expired ones drop out.

If saving the map fails on any controller the database change is rolled back (nothing is
recorded, the customer's message stays blocked) and controllers that already took the new
map get the old one back: an operator must never believe a release works when it does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from helpdesk import audit
from helpdesk.audit import Operator, utcnow
from helpdesk.db import Database
from helpdesk.errors import Conflict, HelpdeskError, NotFound, PolicyError
from helpdesk.mailboxes import get_mailbox
from helpdesk.rspamd import Cluster, Controller, HistoryRow, MapInfo, RspamdError
from helpdesk.schema import outbound_release_map, outbound_releases

MAP_HEADER = "# helpdesk outbound releases: rebuilt from the database, do not edit by hand"
MAX_MESSAGE_ID = 500


@dataclass(frozen=True)
class Release:
    id: int
    address: str
    message_id: str
    created_at: datetime
    operator: str
    client_addr: str | None
    ticket: str
    reason: str | None
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_ticket: str | None = None
    used_at: datetime | None = None

    def state(self, now: datetime | None = None) -> str:
        """revoked, expired or active; `used` is shown alongside (a used release stays active)."""
        now = now or utcnow()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"

    def label(self, now: datetime | None = None) -> str:
        state = self.state(now)
        return f"{state}, used" if self.used_at else state

    @property
    def map_line(self) -> str:
        return f"{self.address}|{self.message_id}"

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() + "Z" if value else None

        return {
            "id": self.id,
            "address": self.address,
            "message_id": self.message_id,
            "state": self.state(now),
            "used": self.used_at is not None,
            "created_at": iso(self.created_at),
            "operator": self.operator,
            "client_addr": self.client_addr,
            "ticket": self.ticket,
            "reason": self.reason,
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
            "revoke_ticket": self.revoke_ticket,
            "used_at": iso(self.used_at),
        }


def normalize_message_id(text: str) -> str:
    """What rspamd's `messageid` selector compares: no angle brackets, no surrounding space."""
    value = (text or "").strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if not value:
        raise PolicyError("the Message-ID is empty")
    if value.lower() == "undef":
        # rspamd reads a message without Message-ID as "undef": releasing that would let
        # every such message from the user through.
        raise PolicyError("a message without a Message-ID cannot be released")
    if any(ch.isspace() for ch in value) or any(ch in value for ch in "|#<>"):
        raise PolicyError(f"not a Message-ID: {text!r}")
    if len(value) > MAX_MESSAGE_ID:
        raise PolicyError(f"the Message-ID is longer than {MAX_MESSAGE_ID} characters")
    return value


def map_text(releases: Iterable[Release]) -> str:
    lines = sorted({r.map_line for r in releases})
    return "\n".join([MAP_HEADER, *lines]) + "\n"


def _from_row(row: Any) -> Release:
    return Release(
        id=row.id,
        address=row.address,
        message_id=row.message_id,
        created_at=row.created_at,
        operator=row.operator,
        client_addr=row.client_addr,
        ticket=row.ticket,
        reason=row.reason,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        revoke_ticket=row.revoke_ticket,
        used_at=row.used_at,
    )


def active_releases(conn: Connection, now: datetime | None = None) -> list[Release]:
    now = now or utcnow()
    query = select(outbound_releases).where(
        outbound_releases.c.revoked_at.is_(None), outbound_releases.c.expires_at > now
    )
    return [_from_row(r) for r in conn.execute(query.order_by(outbound_releases.c.id))]


def list_releases(
    conn: Connection,
    *,
    address: str | None = None,
    since: datetime | None = None,
    include_inactive: bool = True,
    limit: int = 500,
) -> list[Release]:
    """Newest first."""
    now = utcnow()
    query = select(outbound_releases)
    if address:
        query = query.where(outbound_releases.c.address == address.strip().lower())
    if since:
        query = query.where(
            or_(outbound_releases.c.created_at >= since, outbound_releases.c.expires_at >= since)
        )
    if not include_inactive:
        query = query.where(
            outbound_releases.c.revoked_at.is_(None), outbound_releases.c.expires_at > now
        )
    query = query.order_by(outbound_releases.c.id.desc()).limit(limit)
    return [_from_row(r) for r in conn.execute(query)]


def get_release(conn: Connection, release_id: int) -> Release:
    row = conn.execute(
        select(outbound_releases).where(outbound_releases.c.id == release_id)
    ).first()
    if row is None:
        raise NotFound(f"no release #{release_id}")
    return _from_row(row)


def _lock_map(conn: Connection) -> None:
    """Serialise map rebuilds: an UPDATE holds a row lock (a write lock on SQLite) to commit."""
    bump = (
        update(outbound_release_map)
        .where(outbound_release_map.c.id == 1)
        .values(generation=outbound_release_map.c.generation + 1, saved_at=utcnow())
    )
    if conn.execute(bump).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(outbound_release_map).values(id=1, generation=1, saved_at=utcnow()))
    except IntegrityError:
        # Someone created the row meanwhile; now the UPDATE waits for their commit.
        conn.execute(bump)


def mark_used(conn: Connection, releases: Iterable[Release], rows: Iterable[HistoryRow]) -> int:
    """Record `used_at` for releases whose message has since passed; returns how many."""
    passes: dict[str, list[HistoryRow]] = {}
    for r in rows:
        if r.message_id and r.user and not r.rejected:
            passes.setdefault(r.message_id.casefold(), []).append(r)
    count = 0
    for release in releases:
        if release.used_at is not None:
            continue
        # Only a pass while the release was in force counts as its use.
        ended = min(release.expires_at, release.revoked_at or release.expires_at)
        passed = [
            r.time
            for r in passes.get(release.message_id.casefold(), ())
            if r.user_matches(release.address) and release.created_at <= r.time <= ended
        ]
        if passed:
            conn.execute(
                update(outbound_releases)
                .where(outbound_releases.c.id == release.id, outbound_releases.c.used_at.is_(None))
                .values(used_at=min(passed))
            )
            count += 1
    return count


class ReleaseService:
    """Release, revoke and re-sync, each as one transaction that also saves the map."""

    def __init__(self, db: Database, cluster: Cluster, *, release_map: str = "") -> None:
        self.db = db
        self.cluster = cluster
        self.release_map = release_map or cluster.settings.release_map

    # Public operations ------------------------------------------------------------------

    def release(
        self,
        message_id: str,
        address: str,
        *,
        ticket: str,
        reason: str | None = None,
        ttl: timedelta | None = None,
        operator: Operator,
    ) -> Release:
        message_id = normalize_message_id(message_id)
        address = (address or "").strip().lower()
        ticket = _require_ticket(ticket)
        ttl = ttl or self.cluster.settings.release_ttl
        if ttl > timedelta(days=30):
            raise PolicyError("a release may last at most 30 days")

        def change(conn: Connection) -> Release:
            mailbox = get_mailbox(conn, address)
            now = utcnow()
            for existing in active_releases(conn, now):
                if (
                    existing.address == mailbox.address
                    and existing.message_id.casefold() == message_id.casefold()
                ):
                    raise Conflict(
                        f"message {message_id} from {mailbox.address} is already released "
                        f"until {existing.expires_at:%Y-%m-%d %H:%M} UTC (release #{existing.id})"
                    )
            values = {
                "address": mailbox.address,
                "message_id": message_id,
                "created_at": now,
                "operator": operator.user[:128],
                "client_addr": operator.client_addr,
                "ticket": ticket,
                "reason": (reason or None) and reason[:500],
                "expires_at": now + ttl,
            }
            new_id = conn.execute(insert(outbound_releases).values(**values)).inserted_primary_key[
                0
            ]
            audit.record(
                conn,
                operator=operator,
                action="release-outbound",
                target=mailbox.address,
                ticket=ticket,
                reason=reason,
                after={
                    "release_id": new_id,
                    "message_id": message_id,
                    "expires_at": values["expires_at"].isoformat() + "Z",
                },
            )
            return get_release(conn, new_id)

        return self._change_and_push(change, "the release was not recorded")

    def revoke(
        self, release_id: int, *, ticket: str, reason: str | None = None, operator: Operator
    ) -> Release:
        ticket = _require_ticket(ticket)

        def change(conn: Connection) -> Release:
            release = get_release(conn, release_id)
            if release.revoked_at is not None:
                raise Conflict(f"release #{release_id} was already revoked")
            now = utcnow()
            conn.execute(
                update(outbound_releases)
                .where(
                    and_(
                        outbound_releases.c.id == release_id,
                        outbound_releases.c.revoked_at.is_(None),
                    )
                )
                .values(revoked_at=now, revoked_by=operator.user[:128], revoke_ticket=ticket)
            )
            audit.record(
                conn,
                operator=operator,
                action="revoke-release",
                target=release.address,
                ticket=ticket,
                reason=reason,
                before={"release_id": release_id, "message_id": release.message_id},
                after={"revoked_at": now.isoformat() + "Z"},
            )
            return get_release(conn, release_id)

        return self._change_and_push(change, "the revocation was not recorded")

    def sync(self) -> int:
        """Rewrite the map from the active releases (drops expired ones); returns its line count."""
        count = 0

        def change(conn: Connection) -> None:
            nonlocal count
            count = len({r.map_line for r in active_releases(conn)})

        self._change_and_push(change, "the map was not rewritten")
        return count

    def refresh_used(self, rows: Iterable[HistoryRow]) -> int:
        with self.db.begin() as conn:
            return mark_used(conn, list_releases(conn, limit=1000), rows)

    # The one write path -----------------------------------------------------------------

    def _targets(self) -> list[tuple[Controller, MapInfo]]:
        return [(c, c.find_map(self.release_map)) for c in self.cluster.controllers]

    def _change_and_push(self, change: Any, undone: str) -> Any:
        saved: list[tuple[Controller, MapInfo]] = []
        try:
            with self.db.begin() as conn:
                _lock_map(conn)
                result = change(conn)
                # Resolved inside the lock so that a bad map name changes nothing either.
                targets = self._targets()
                text = map_text(active_releases(conn))
                for controller, info in targets:
                    controller.savemap(info.id, text)
                    saved.append((controller, info))
        except RspamdError as exc:
            self._restore(saved)
            raise RspamdError(f"{exc}; {undone}, nothing changed") from None
        except Exception:
            self._restore(saved)
            raise
        return result

    def _restore(self, saved: list[tuple[Controller, MapInfo]]) -> None:
        """Give controllers that took the new map the database's map again (best effort)."""
        if not saved:
            return
        try:
            with self.db.begin() as conn:
                _lock_map(conn)
                text = map_text(active_releases(conn))
                for controller, info in saved:
                    with contextlib.suppress(RspamdError):
                        controller.savemap(info.id, text)
        except HelpdeskError:
            pass


def _require_ticket(ticket: str | None) -> str:
    ticket = (ticket or "").strip()
    if not ticket:
        raise PolicyError("a ticket reference is required (--ticket)")
    if len(ticket) > 64:
        raise PolicyError("the ticket reference is longer than 64 characters")
    return ticket
