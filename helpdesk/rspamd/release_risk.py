"""What the release dialog says about the account: does it look taken over?

Only from what the helpdesk already has: the send-log screen's last read, and the automatic
watcher's state (table watch_accounts, read with the blocked list): a release dialog never
reads a log itself, so it opens at once. Without a send-log result it says so; the operator
can read the send log (F6) first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk.i18n import M, Text

# "A new client address" is one not seen for this account in the previous 30 days.
NEW_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class TakeoverNote:
    warn: bool  # the account looks taken over
    lines: list[Text] = field(default_factory=list)
    has_data: bool = True


@dataclass(frozen=True)
class WatcherSuspension:
    """The automatic watcher's last suspension of an account (helpdesk watch)."""

    at: datetime  # naive UTC
    reason: str


def watcher_suspensions(db: Any, users: Iterable[str]) -> dict[str, WatcherSuspension]:
    """The watcher's last suspension of each of these accounts (lowercase address -> it);
    read in the background with the blocked list. Nothing when the watcher never acted."""
    from sqlalchemy import select

    from helpdesk.mailcenter.schema import watch_accounts as table

    wanted = sorted({u.strip().lower() for u in users if u})
    found: dict[str, WatcherSuspension] = {}
    with db.connect() as conn:
        for start in range(0, len(wanted), 500):  # bounded IN lists
            query = select(table.c.address, table.c.suspended_at, table.c.reason).where(
                table.c.address.in_(wanted[start : start + 500]),
                table.c.suspended_at.is_not(None),
            )
            for row in conn.execute(query):
                found[row.address] = WatcherSuspension(row.suspended_at, row.reason or "")
    return found


def takeover_note(
    report: Any | None,
    address: str,
    watched: WatcherSuspension | None = None,
    now: datetime | None = None,
) -> TakeoverNote:
    """`report`: a helpdesk.sendlog Report (start, baseline_start, baseline_covered, user());
    `watched`: the watcher's last suspension of the account, if any."""
    from helpdesk.localtime import time_text
    from helpdesk.mailcenter.audit import utcnow

    first: list[Text] = []
    recent = (now or utcnow()) - timedelta(days=NEW_ADDRESS_DAYS)
    if watched is not None and watched.at >= recent:
        first.append(
            M(
                "The automatic watcher suspended this account on {when}: {reason}",
                when=time_text(watched.at, zone=True),
                reason=watched.reason,
            )
        )
    note = _from_send_log(report, address)
    if first:
        return TakeoverNote(True, first + note.lines, has_data=note.has_data)
    return note


def _from_send_log(report: Any | None, address: str) -> TakeoverNote:
    if report is None:
        return TakeoverNote(
            False,
            [
                M(
                    "No send-log result in this session: whether the account looks taken over "
                    "is unknown (F6 reads the send log)."
                )
            ],
            has_data=False,
        )
    stats = report.user(address)
    if stats is None:
        return TakeoverNote(False, [M("The last send-log read shows no mail from this account.")])
    lines: list[Text] = []
    warn = stats.score > 0
    if warn:
        reasons = "; ".join(str(r) for r in stats.reasons[:3])
        lines.append(M("Looks taken over (last send-log read): {reasons}", reasons=reasons))
    span = report.start - report.baseline_start
    ips = ", ".join(stats.new_ips)
    if stats.new_ips:
        if report.baseline_covered and span >= timedelta(days=NEW_ADDRESS_DAYS):
            warn = True
            lines.append(M("New client addresses (not seen in 30 days): {ips}", ips=ips))
        else:
            days = max(0, span.days)
            lines.append(
                M(
                    "Client addresses not seen in the previous {days} days (the log read covers "
                    "less than 30): {ips}",
                    days=days,
                    ips=ips,
                )
            )
    if not lines:
        lines.append(M("The last send-log read shows nothing unusual for this account."))
    return TakeoverNote(warn, lines)
