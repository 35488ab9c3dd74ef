"""What the release dialog says about the account: does it look taken over?

Only from a send-log result the helpdesk already has (the send-log screen's last read): a
release dialog never reads a log itself, so it opens at once. Without such a result it says
so; the operator can read the send log (F6) first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from helpdesk.i18n import M, Text

# "A new client address" is one not seen for this account in the previous 30 days.
NEW_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class TakeoverNote:
    warn: bool  # the account looks taken over
    lines: list[Text] = field(default_factory=list)
    has_data: bool = True


def takeover_note(report: Any | None, address: str) -> TakeoverNote:
    """`report`: a helpdesk.sendlog Report (start, baseline_start, baseline_covered, user())."""
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
