"""Durations as operators type them: 90s, 30m, 24h, 7d, 2w, or combined like 1h30m."""

import re
from datetime import timedelta

from helpdesk.errors import HelpdeskError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """Parse '24h', '30m', '7d', '1h30m'; a bare number means minutes."""
    raw = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+", raw):
        return timedelta(minutes=int(raw))
    parts = _PART.findall(raw)
    if not raw or "".join(n + u for n, u in parts) != raw:
        raise HelpdeskError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise HelpdeskError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest readable form, for messages: 1d 2h, 15m, 40s."""
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(out[:2]) or "0s"
