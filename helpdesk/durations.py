"""Durations as operators type them: 90s, 30m, 24h, 7d, 2w, or combined like 1h30m."""

import re
from datetime import timedelta

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
# How far back a review may reach: logs are rotated away long before, and a longer window
# only turns into date arithmetic that overflows.
MAX_SINCE = timedelta(days=400)


def parse_duration(text: str) -> timedelta:
    """Parse '24h', '30m', '7d', '1h30m'; a bare number means minutes."""
    raw = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d{1,12}", raw):
        if int(raw) == 0:
            raise HelpdeskError(M("duration must be positive: {text!r}", text=text))
        return timedelta(minutes=int(raw))
    parts = _PART.findall(raw)
    if not raw or "".join(n + u for n, u in parts) != raw:
        raise HelpdeskError(M("not a duration: {text!r} (use e.g. 30m, 24h, 7d)", text=text))
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise HelpdeskError(M("duration must be positive: {text!r}", text=text))
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise HelpdeskError(M("duration too long: {text!r}", text=text)) from None


def parse_since(text: str, what: str = "--since") -> timedelta:
    """A look-back window: a duration of at most MAX_SINCE (400 days)."""
    if len(str(text)) > 40:
        raise HelpdeskError(M("{what}: not a duration (use e.g. 30m, 24h, 7d)", what=what))
    delta = parse_duration(text)
    if delta > MAX_SINCE:
        raise HelpdeskError(
            M(
                "{what} {text} is too long: at most {days} days",
                what=what,
                text=str(text).strip(),
                days=MAX_SINCE.days,
            )
        )
    return delta


def format_duration(delta: timedelta) -> str:
    """The shortest readable form, for messages: 1d 2h, 15m, 40s."""
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(out[:2]) or "0s"
