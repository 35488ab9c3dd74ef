"""Release records: the rows of outbound_releases and the queries over them.

A release is bound to an account and a content digest (rspamd's `digest` selector); the map
line is `address|digest`. It passes `uses` times: Exim's DATA ACL takes one use at a time from
`uses_left` in the database (docs/rspamd.md, "How a release is used up")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from helpdesk.errors import NotFound, PolicyError
from helpdesk.i18n import M, Text
from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.schema import outbound_releases
from helpdesk.rspamd.client import HistoryRow

MAX_MESSAGE_ID = 500
MAX_USES = 10
_DIGEST = re.compile(r"[0-9a-f]{32,64}")
# Row states (column `state`); revoked and expired follow from revoked_at and expires_at.
PENDING, CONFIRMED, WITHDRAWN = "pending", "confirmed", "withdrawn"


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
    map_state: str = CONFIRMED
    digest: str | None = None
    uses: int = 1
    uses_left: int = 1

    def state(self, now: datetime | None = None) -> str:
        """pending, withdrawn, revoked, used (no use left), expired or active."""
        now = now or utcnow()
        if self.map_state in (PENDING, WITHDRAWN):
            return self.map_state
        if self.revoked_at is not None:
            return "revoked"
        if self.uses_left <= 0:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "active"

    @property
    def used(self) -> int:
        """How many times Exim accepted the message under this release."""
        return max(0, self.uses - self.uses_left)

    def label(self, now: datetime | None = None) -> str:
        state = self.state(now)
        if state == "used":
            return state
        if self.uses > 1 and self.used:
            return f"{state}, {self.used} of {self.uses} used"
        return f"{state}, used" if self.used_at else state

    @property
    def in_force(self) -> bool:
        return self.state() == "active"

    @property
    def map_line(self) -> str:
        # Rows from before digests have none: they match nothing.
        return f"{self.address}|{self.digest or 'no-digest'}"

    @property
    def what(self) -> str | Text:
        """The message as the operator knows it: its Message-ID, else its digest."""
        if self.message_id:
            return f"<{self.message_id}>"
        return M("the message with digest {digest}", digest=(self.digest or "")[:12])

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
            "digest": self.digest,
            "uses": self.uses,
            "uses_left": self.uses_left,
        }


def normalize_message_id(text: str) -> str:
    """What rspamd's `messageid` selector compares: no angle brackets, no surrounding space."""
    value = (text or "").strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if not value:
        raise PolicyError(M("the Message-ID is empty"))
    if value.lower() == "undef":
        # rspamd reads a message without Message-ID as "undef": releasing that would let
        # every such message from the user through.
        raise PolicyError(M("a message without a Message-ID cannot be released"))
    if any(ch.isspace() for ch in value) or any(ch in value for ch in "|#<>"):
        raise PolicyError(M("not a Message-ID: {text}", text=repr(text)))
    if len(value) > MAX_MESSAGE_ID:
        raise PolicyError(M("the Message-ID is longer than {n} characters", n=MAX_MESSAGE_ID))
    return value


def normalize_digest(text: str | None) -> str:
    """rspamd's content digest as the map holds it: lowercase hex."""
    value = (text or "").strip().lower()
    if not value:
        raise PolicyError(
            M(
                "no content digest is recorded for this message (Exim's reject line names it): "
                "it cannot be released"
            )
        )
    if not _DIGEST.fullmatch(value):
        raise PolicyError(M("not a content digest: {text} (32 hex digits)", text=repr(text)))
    return value


def check_uses(uses: int | None) -> int:
    value = 1 if uses is None else uses
    if not 1 <= value <= MAX_USES:
        raise PolicyError(M("--uses must be between 1 and {n}", n=MAX_USES))
    return value


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
        map_state=row.state or CONFIRMED,
        digest=row.digest,
        uses=row.uses if row.uses is not None else 1,
        uses_left=row.uses_left if row.uses_left is not None else 1,
    )


def active_releases(
    conn: Connection, now: datetime | None = None, *, states: tuple[str, ...] = (CONFIRMED,)
) -> list[Release]:
    """Neither revoked nor expired nor used up, in one of `states` (confirmed: in force)."""
    now = now or utcnow()
    query = select(outbound_releases).where(
        outbound_releases.c.revoked_at.is_(None),
        outbound_releases.c.expires_at > now,
        outbound_releases.c.uses_left > 0,
        outbound_releases.c.state.in_(states),
    )
    return [_from_row(r) for r in conn.execute(query.order_by(outbound_releases.c.id))]


def map_lines(conn: Connection, also: int | None = None) -> list[str]:
    """What the map holds: the confirmed releases in force, and the one being pushed. Used-up
    releases drop out (Exim refuses them anyway); rows without a digest have no line."""
    lines = [r.map_line for r in active_releases(conn) if r.digest]
    if also is not None:
        mine = get_release(conn, also)
        if mine.map_state == PENDING and mine.revoked_at is None and mine.expires_at > utcnow():
            lines.append(mine.map_line)
    return lines


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
            outbound_releases.c.revoked_at.is_(None),
            outbound_releases.c.expires_at > now,
            outbound_releases.c.uses_left > 0,
            outbound_releases.c.state.in_((PENDING, CONFIRMED)),
        )
    query = query.order_by(outbound_releases.c.id.desc()).limit(limit)
    return [_from_row(r) for r in conn.execute(query)]


def get_release(conn: Connection, release_id: int) -> Release:
    row = conn.execute(
        select(outbound_releases).where(outbound_releases.c.id == release_id)
    ).first()
    if row is None:
        raise NotFound(M("no release #{id}", id=str(release_id)))
    return _from_row(row)


def mark_used(conn: Connection, releases: Iterable[Release], rows: Iterable[HistoryRow]) -> int:
    """Record `used_at` for releases from before digests whose message has since passed in
    rspamd's history; returns how many. A digest release is used when Exim accepts it (Exim
    writes `uses_left` and `used_at` itself)."""
    releases = [r for r in releases if not r.digest]
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
