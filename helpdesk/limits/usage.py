"""How much of its limits a mailbox used: Exim's own computed rate from its hints database
(`exim_dumpdb SPOOL ratelimit`), or, where the spool is not readable, the same smoothed rate
recomputed from the mainlog with Exim's formula (and labelled so).

Exim's rate after an event is `(1 - a) * count / (i / p) + a * old` with `a = exp(-i / p)`,
`i` the time since the previous event and `p` the period (1 h): a burst adds about one per
message, and it decays by a factor e per hour of silence. With `leaky` a refused message does
not count, so the log recount uses what passed the limit: arrivals and messages refused only
after DATA (by the spam check, which comes after the limit).
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helpdesk.i18n import M, Text
from helpdesk.limits.settings import LimitSettings

PERIOD = 3600.0
DUMPDB_TIMEOUT = 5.0
# 30-Nov-2026 23:11:35.581711 rate:      3.000 key: 1h/per_mail/msg:anna@example.org
_DUMP_LINE = re.compile(
    r"^(\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?)\s+rate:\s+([\d.]+)\s+key:\s+"
    r"1h/(per_mail|per_rcpt)/(msg|rcpt):(.+)$"
)


@dataclass(frozen=True)
class Usage:
    messages: float | None
    recipients: float | None
    at: datetime | None
    source: str  # "exim" (its hints database), "log" (recomputed) or "none" (neither readable)
    why: Text | None = None

    def label(self) -> Text:
        if self.why is not None:
            return self.why
        if self.source == "exim":
            return M("Exim's own computed rate (its hints database on this host)")
        return M("recomputed from the mainlog with Exim's formula (the spool is not readable)")

    def as_json(self) -> dict:
        return {
            "messages": None if self.messages is None else round(self.messages, 3),
            "recipients": None if self.recipients is None else round(self.recipients, 3),
            "at": None if self.at is None else self.at.isoformat() + "Z",
            "source": self.source,
            "why": None if self.why is None else self.why.english(),
        }


def parse_dump(text: str) -> dict[tuple[str, str], tuple[float, datetime]]:
    """{("msg"|"rcpt", address): (rate, time of the last event)} from exim_dumpdb's output."""
    out: dict[tuple[str, str], tuple[float, datetime]] = {}
    for line in text.splitlines():
        m = _DUMP_LINE.match(line.strip())
        if m is None:
            continue
        when = datetime.strptime(m.group(1).split(".")[0], "%d-%b-%Y %H:%M:%S")
        out[(m.group(4), m.group(5))] = (float(m.group(2)), when)
    return out


def exim_usage(settings: LimitSettings, address: str) -> Usage | None:
    """Exim's rates for `address`, or None when its hints database cannot be read here."""
    if settings.exim_spool is None:
        return None
    try:
        done = subprocess.run(
            [settings.exim_dumpdb, str(settings.exim_spool), "ratelimit"],
            capture_output=True,
            text=True,
            timeout=DUMPDB_TIMEOUT,
            errors="replace",
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    rates = parse_dump(done.stdout)
    msg, rcpt = rates.get(("msg", address)), rates.get(("rcpt", address))
    times = [r[1] for r in (msg, rcpt) if r is not None]
    return Usage(
        messages=msg[0] if msg else 0.0,
        recipients=rcpt[0] if rcpt else 0.0,
        at=max(times) if times else None,
        source="exim",
    )


def smoothed_rate(events: Iterable[tuple[float, int]], period: float = PERIOD) -> float | None:
    """Exim's rate after the last of `events` ((unix time, count), oldest first)."""
    rate: float | None = None
    previous = 0.0
    for when, count in events:
        if rate is None:
            rate = float(count)
        else:
            i_over_p = max(when - previous, 0.0) / period
            if i_over_p < 1e-9:
                rate += count
            else:
                a = math.exp(-i_over_p)
                rate = (1 - a) * count / i_over_p + a * rate
        previous = when
    return rate


def log_usage(
    paths: Iterable[str], address: str, cancelled: Callable[[], bool] | None = None
) -> Usage:
    """The rates recomputed from the mainlog's lines of `address` (its authenticated logins).

    `cancelled()` is asked between chunks (a screen that was left stops the read)."""
    from helpdesk.logs.files import expand, iter_lines
    from helpdesk.sendlog.parser import ARRIVAL, REJECT, parse_line

    messages: list[tuple[float, int]] = []
    recipients: list[tuple[float, int]] = []
    last: datetime | None = None
    for _lf, _n, line in iter_lines(expand(paths), cancelled=cancelled):
        if address.encode() not in line.lower():
            continue
        ev = parse_line(line)
        if ev is None or (ev.user or "").lower() != address:
            continue
        if ev.kind == ARRIVAL:
            count = max(len(ev.recipients), 1)
        elif ev.kind == REJECT and ev.stage == "DATA" and "after DATA" in ev.text:
            count = 1
        else:
            continue
        stamp = ev.time.timestamp()
        messages.append((stamp, 1))
        recipients.append((stamp, count))
        last = ev.time
    return Usage(
        messages=smoothed_rate(messages) or 0.0,
        recipients=smoothed_rate(recipients) or 0.0,
        at=last,
        source="log",
    )


def usage(
    settings: LimitSettings,
    paths: Iterable[str],
    address: str,
    cancelled: Callable[[], bool] | None = None,
) -> Usage:
    from helpdesk.errors import HelpdeskError
    from helpdesk.logs.files import Cancelled

    found = exim_usage(settings, address)
    if found is not None:
        return found
    try:
        return log_usage(paths, address, cancelled)
    except Cancelled:
        raise
    except HelpdeskError as error:
        why = error.message if isinstance(error.message, Text) else str(error)
        return Usage(None, None, None, "none", M("usage unknown: {why}", why=why))


def spool_readable(spool: Path | None) -> bool:
    return spool is not None and (spool / "db" / "ratelimit").exists()
