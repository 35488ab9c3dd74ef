"""Releases: let exactly one message from exactly one customer through rspamd's outbound check.

The database is the record (who, when, ticket, reason, expiry, uses left); rspamd reads a
file map of `user|digest` lines (account and content digest) that a multimap rule turns into
"accept", and Exim's DATA ACL takes one use per accepted copy from the row itself, so a
release passes its message exactly `uses` times however many workers and nodes scan it.
The map is never edited line by line: after every change it is rebuilt from the database
and pushed to every controller (helpdesk/rspamd/release_map.py), so concurrent releases all
land and expired or used ones drop out.

No database lock is held while a controller is asked. A release is written as `pending` first,
then pushed; it becomes `confirmed` once every controller holds it, and otherwise is withdrawn
from every controller again (`withdrawn`) before the command ends, or by the next
`helpdesk releases --sync` when even that fails. A line in rspamd's map always has a row here;
an operator is never told a release works when it does not (docs/rspamd.md, "Releases").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from helpdesk.errors import Conflict, HelpdeskError, PolicyError
from helpdesk.i18n import M, Text
from helpdesk.mailcenter import audit
from helpdesk.mailcenter.audit import Operator, utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import get_mailbox
from helpdesk.mailcenter.schema import outbound_releases
from helpdesk.mailcenter.tickets import check_ticket
from helpdesk.rspamd.client import Cluster, Controller, HistoryRow, MapInfo, RspamdError
from helpdesk.rspamd.release_map import MAP_HEADER, LockBusy, PushResult, map_text, push, push_lock
from helpdesk.rspamd.release_records import (
    CONFIRMED,
    MAX_MESSAGE_ID,
    MAX_USES,
    PENDING,
    WITHDRAWN,
    Release,
    _from_row,
    active_releases,
    check_uses,
    get_release,
    list_releases,
    map_lines,
    mark_used,
    normalize_digest,
    normalize_message_id,
)

# The longest a release may last: it is for "send it again now", not for a campaign.
MAX_TTL = timedelta(days=3)
SUSPENDED = "sending is suspended: reinstate first"

# Re-exported: the CLI, the UI and tests read releases through this module.
__all__ = [
    "CONFIRMED",
    "MAP_HEADER",
    "MAX_MESSAGE_ID",
    "MAX_TTL",
    "MAX_USES",
    "PENDING",
    "WITHDRAWN",
    "Release",
    "ReleaseService",
    "ReleaseUnsettled",
    "ReleaseWithdrawn",
    "RevokeNotPushed",
    "SyncOutcome",
    "active_releases",
    "get_release",
    "list_releases",
    "map_text",
    "mark_used",
    "normalize_digest",
    "normalize_message_id",
]


class ReleaseWithdrawn(RspamdError):
    """A push failed; the release was taken off every controller again (state withdrawn)."""


class ReleaseUnsettled(RspamdError):
    """A push failed and so did withdrawing it: pending until `helpdesk releases --sync`."""


class RevokeNotPushed(RspamdError):
    """Revoked in the database, but not every controller is known to have dropped it."""


@dataclass
class SyncOutcome:
    lines: int  # entries in the map now
    withdrawn: list[Release]  # pending releases this sync withdrew
    pending: list[Release]  # pending releases that could not be withdrawn everywhere yet
    errors: list[str | Text]  # one line per controller that did not take the map


class ReleaseService:
    """Release, revoke and re-sync; each writes the database first, then pushes the map."""

    def __init__(self, db: Database, cluster: Cluster, *, release_map: str = "") -> None:
        self.db = db
        self.cluster = cluster
        self.release_map = release_map or cluster.settings.release_map

    # Public operations ------------------------------------------------------------------

    def release(
        self,
        message_id: str | None,
        address: str,
        *,
        digest: str | None,
        ticket: str,
        reason: str | None = None,
        ttl: timedelta | None = None,
        uses: int | None = None,
        operator: Operator,
    ) -> Release:
        """Let the message with this content digest from this account pass `uses` times
        (default 1) until the TTL ends. The Message-ID is recorded to show, not matched:
        clients may send the message again under a new one (docs/rspamd.md)."""
        message_id = normalize_message_id(message_id) if (message_id or "").strip() else ""
        digest = normalize_digest(digest)
        address = (address or "").strip().lower()
        ticket = _require_ticket(ticket)
        uses = check_uses(uses)
        ttl = ttl or self.cluster.settings.release_ttl
        if ttl > MAX_TTL:
            raise PolicyError(M("a release may last at most 3 days"))
        undone = M("the release was not recorded, nothing changed")
        with self.db.connect() as conn:  # bad input is refused before rspamd is asked
            _check_new(conn, address, digest)
        targets = self._targets(undone)
        with self._lock(undone):
            with self.db.begin() as conn:
                mailbox = _check_new(conn, address, digest)
                now = utcnow()
                values = {
                    "address": mailbox.address,
                    "message_id": message_id,
                    "created_at": now,
                    "operator": operator.user[:128],
                    "client_addr": operator.client_addr,
                    "ticket": ticket,
                    "reason": (reason or None) and reason[:500],
                    "expires_at": now + ttl,
                    "state": PENDING,
                    "digest": digest,
                    "uses": uses,
                    "uses_left": uses,
                }
                new_id = conn.execute(insert(outbound_releases).values(**values))
                new_id = new_id.inserted_primary_key[0]
                audit.record(
                    conn,
                    operator=operator,
                    action="release-pending",
                    target=mailbox.address,
                    ticket=ticket,
                    reason=reason,
                    after={
                        "release_id": new_id,
                        "message_id": message_id,
                        "digest": digest,
                        "uses": uses,
                    },
                )
                release = get_release(conn, new_id)
            try:
                first = push(self.db, targets, lambda c: map_lines(c, also=new_id))
                if first.ok:
                    return self._confirm(release, operator, reason)
                self._withdraw(targets, release, first, operator)
            except RspamdError:
                raise
            except HelpdeskError as exc:  # the database failed between the steps
                raise type(exc)(
                    M(
                        "{error}; release #{id} stays pending until `helpdesk releases --sync` "
                        "withdraws it",
                        error=exc.message,
                        id=str(new_id),
                    )
                ) from None
        raise AssertionError("unreachable: _withdraw always raises")

    def revoke(
        self, release_id: int, *, ticket: str, reason: str | None = None, operator: Operator
    ) -> Release:
        ticket = _require_ticket(ticket)
        undone = M("the revocation was not recorded, nothing changed")
        with self.db.connect() as conn:
            _check_revocable(get_release(conn, release_id))
        targets = self._targets(undone)
        with self._lock(undone):
            with self.db.begin() as conn:
                release = get_release(conn, release_id)
                _check_revocable(release)
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
                release = get_release(conn, release_id)
            result = push(self.db, targets, map_lines)
        if not result.absent_everywhere(release.map_line):
            raise RevokeNotPushed(
                M(
                    "release #{id} is revoked in the database, but {error}: rspamd may still "
                    "let {what} from {address} through there until `helpdesk releases --sync` "
                    "succeeds",
                    id=str(release.id),
                    error=_first_error(result),
                    what=release.what,
                    address=release.address,
                )
            )
        return release

    def sync(self, operator: Operator | None = None) -> SyncOutcome:
        """Rewrite the map from the database (drops expired and revoked releases) and withdraw
        releases left pending by a command that could not settle them."""
        operator = operator or audit.current_operator()
        targets = self._targets(M("the map was not rewritten"))
        withdrawn: list[Release] = []
        still: list[Release] = []
        with self._lock(M("the map was not rewritten")):
            result = push(self.db, targets, map_lines)
            with self.db.begin() as conn:
                for release in active_releases(conn, states=(PENDING,)) + _expired_pending(conn):
                    if result.absent_everywhere(release.map_line):
                        why = M("its command ended before every controller confirmed it")
                        if _mark_withdrawn(conn, release, why, operator):
                            withdrawn.append(get_release(conn, release.id))
                    else:
                        still.append(release)
        return SyncOutcome(len(result.wanted), withdrawn, still, result.errors)

    def refresh_used(self, rows: Iterable[HistoryRow]) -> int:
        with self.db.begin() as conn:
            return mark_used(conn, list_releases(conn, limit=1000), rows)

    # Steps --------------------------------------------------------------------------------

    def _targets(self, undone: Text) -> list[tuple[Controller, MapInfo]]:
        try:
            return [(c, c.find_map(self.release_map)) for c in self.cluster.controllers]
        except RspamdError as exc:
            raise RspamdError(M("{error}; {undone}", error=exc.message, undone=undone)) from None

    def _lock(self, undone: Text):
        # Long enough for another command's two pushes of three calls per controller.
        wait = self.cluster.settings.timeout * (6 * len(self.cluster.controllers) + 1) + 2
        return _locked(self.db, wait, undone)

    def _confirm(self, release: Release, operator: Operator, reason: str | None) -> Release:
        with self.db.begin() as conn:
            done = conn.execute(
                update(outbound_releases)
                .where(outbound_releases.c.id == release.id, outbound_releases.c.state == PENDING)
                .values(state=CONFIRMED)
            )
            if done.rowcount:
                audit.record(
                    conn,
                    operator=operator,
                    action="release-outbound",
                    target=release.address,
                    ticket=release.ticket,
                    reason=reason,
                    after={
                        "release_id": release.id,
                        "message_id": release.message_id,
                        "digest": release.digest,
                        "uses": release.uses,
                        "expires_at": release.expires_at.isoformat() + "Z",
                    },
                )
            return get_release(conn, release.id)

    def _withdraw(
        self,
        targets: list[tuple[Controller, MapInfo]],
        release: Release,
        first: PushResult,
        operator: Operator,
    ) -> None:
        error = _first_error(first)
        second = push(self.db, targets, map_lines)
        # Where the map cannot be read, only a controller that was sent a map holding this
        # release can hold it: no other command builds one with a pending release not its own.
        sent = {n.name for n in first.nodes if n.attempted}
        line = release.map_line.casefold()
        left = [
            n.name
            for n in second.nodes
            if (line in n.lines if n.lines is not None else n.name in sent)
        ]
        if not left:
            with self.db.begin() as conn:
                _mark_withdrawn(conn, release, error, operator)
            raise ReleaseWithdrawn(
                M(
                    "{error}; release #{id} was withdrawn from every controller: {what} from "
                    "{address} stays blocked",
                    error=error,
                    id=str(release.id),
                    what=release.what,
                    address=release.address,
                )
            )
        raise ReleaseUnsettled(
            M(
                "{error}; release #{id} stays pending: withdrawing it failed on {controllers} "
                "({second}), where the message may pass until `helpdesk releases --sync` "
                "withdraws it",
                error=error,
                id=str(release.id),
                controllers=", ".join(left),
                second=_first_error(second),
            )
        )


@contextmanager
def _locked(db: Database, wait: float, undone: Text) -> Iterator[None]:
    try:
        with push_lock(db, wait):
            yield
    except LockBusy as exc:
        raise LockBusy(M("{error}; {undone}", error=exc.message, undone=undone)) from None


def _check_new(conn: Connection, address: str, digest: str) -> Any:
    mailbox = get_mailbox(conn, address)
    if not mailbox.smtp_enabled:
        # A suspended account is the one most likely taken over: reinstating is its own
        # decision, with its own ticket.
        raise PolicyError(M(SUSPENDED))
    for existing in active_releases(conn, states=(PENDING, CONFIRMED)):
        if existing.address == mailbox.address and existing.digest == digest:
            until = f"{existing.expires_at:%Y-%m-%d %H:%M} UTC"
            if existing.map_state == PENDING:
                raise Conflict(
                    M(
                        "{what} from {address} has a pending release (#{id}): "
                        "`helpdesk releases --sync` settles it",
                        what=existing.what,
                        address=mailbox.address,
                        id=str(existing.id),
                    )
                )
            raise Conflict(
                M(
                    "{what} from {address} is already released until {until} (release #{id})",
                    what=existing.what,
                    address=mailbox.address,
                    until=until,
                    id=str(existing.id),
                )
            )
    return mailbox


def _check_revocable(release: Release) -> None:
    if release.revoked_at is not None:
        raise Conflict(M("release #{id} was already revoked", id=str(release.id)))
    if release.map_state == WITHDRAWN:
        raise Conflict(M("release #{id} was withdrawn; it is not in force", id=str(release.id)))
    if release.map_state == PENDING:
        raise Conflict(
            M(
                "release #{id} is pending; `helpdesk releases --sync` withdraws it",
                id=str(release.id),
            )
        )


def _expired_pending(conn: Connection) -> list[Release]:
    query = select(outbound_releases).where(
        outbound_releases.c.state == PENDING,
        or_(
            outbound_releases.c.revoked_at.is_not(None), outbound_releases.c.expires_at <= utcnow()
        ),
    )
    return [_from_row(r) for r in conn.execute(query)]


def _mark_withdrawn(
    conn: Connection, release: Release, why: str | Text, operator: Operator
) -> bool:
    # The audit log keeps English, whatever the operator's language.
    why = why.english() if isinstance(why, Text) else why
    done = conn.execute(
        update(outbound_releases)
        .where(outbound_releases.c.id == release.id, outbound_releases.c.state == PENDING)
        .values(state=WITHDRAWN)
    )
    if not done.rowcount:
        return False
    audit.record(
        conn,
        operator=operator,
        action="release-withdrawn",
        target=release.address,
        ticket=release.ticket,
        reason=why,
        before={"release_id": release.id, "message_id": release.message_id, "state": PENDING},
        after={"state": WITHDRAWN},
    )
    return True


def _first_error(result: PushResult) -> str | Text:
    errors = result.errors
    return errors[0] if errors else M("not every controller confirmed the map")


def _require_ticket(ticket: str | None) -> str:
    return check_ticket(ticket)
