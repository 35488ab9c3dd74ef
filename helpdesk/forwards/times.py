"""Times of a schedule as the operator types them: in `[ui] timezone`, stored as naive UTC.

A date alone means the start of that day for "from" and its last second for "until", so that
"until the 15th" covers the whole 15th in the operator's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from helpdesk import localtime
from helpdesk.errors import PolicyError
from helpdesk.i18n import M

FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def parse_local(value: str, *, end_of_day: bool = False) -> datetime:
    """`2026-12-15` or `2026-12-15 08:00` in the display zone, as naive UTC."""
    text = value.strip()
    for pattern in FORMATS:
        try:
            naive = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d" and end_of_day:
            naive = datetime.combine(naive.date(), time(23, 59, 59))
        return to_utc(naive)
    raise PolicyError(
        M("not a time: {value!r} (write 2026-12-15 or 2026-12-15 08:00)", value=text[:40])
    )


def to_utc(local: datetime) -> datetime:
    """A naive time in the display zone as naive UTC (None zone: this machine's zone)."""
    return localtime.from_display(local)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def sieve_time(when: datetime) -> str:
    """How the script compares times: UTC, `YYYY-MM-DDTHH:MM:SS`, ordered as text."""
    return when.strftime("%Y-%m-%dT%H:%M:%S")
