"""Who sent most in the hour before a listing began: the send log's own ranking, read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk.logs.files import chunks, expand
from helpdesk.logs.timestamps import datetime_to_key, split_line
from helpdesk.sendlog.offenders import Analysis
from helpdesk.sendlog.settings import SendlogSettings

TOP = 5


@dataclass(frozen=True)
class Sender:
    user: str
    messages: int
    rejected: int
    recipients: int
    score: int

    def as_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "messages": self.messages,
            "rejected": self.rejected,
            "recipients": self.recipients,
            "score": self.score,
        }


def local_naive(utc: datetime) -> datetime:
    """A naive UTC time (as stored) as this machine's naive local time (as Exim logs it)."""
    return utc.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def top_senders_before(
    settings: SendlogSettings,
    when_utc: datetime,
    *,
    window: timedelta = timedelta(hours=1),
    top: int = TOP,
) -> list[Sender]:
    """The accounts that sent most messages in `window` before `when_utc`, most first."""
    end = local_naive(when_utc)
    end_key = datetime_to_key(end)
    files = expand(settings.paths)
    analysis = Analysis(settings, now=end, since=window)
    for _lf, _first, data in chunks(files):
        cut = _before(data, end_key)
        analysis.feed(cut)
        if len(cut) < len(data):
            break  # the rest of the log is later than the listing
    report = analysis.report()
    users = sorted(report.users, key=lambda s: (-s.messages, -s.score, s.user))
    return [
        Sender(u.user, u.messages, u.rejected, u.recipients, u.score)
        for u in users[:top]
        if u.messages
    ]


def _before(data: bytes, end_key: bytes) -> bytes:
    """The lines of `data` dated before `end_key` (the analysis itself only bounds the start).
    Lines without a time are kept: the analysis counts them as unreadable."""
    tail = data[data.rfind(b"\n") + 1 :]
    last = split_line(tail)
    if last is not None and last[0] < end_key:
        return data
    kept = []
    for line in data.split(b"\n"):
        found = split_line(line)
        if found is not None and found[0] >= end_key:
            break
        kept.append(line)
    return b"\n".join(kept)
