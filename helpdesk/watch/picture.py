"""The outbound picture in one line (issue 17, item 5), for the top of the send-log screen:
server-wide authenticated messages per hour as a sparkline, the accounts refused by their
limits in the last hour, and the watcher's last action."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from helpdesk.i18n import M, Text
from helpdesk.mailcenter.db import Database
from helpdesk.plaintext import clip_middle
from helpdesk.sendlog.parser import ARRIVAL, REJECT, Event

BARS = "▁▂▃▄▅▆▇█"
HOURS = 8
# So that the whole line fits 80 columns in both languages.
ADDRESS_WIDTH = 20


def sparkline(counts: list[int]) -> str:
    top = max(counts, default=0)
    if top == 0:
        return BARS[0] * len(counts)
    return "".join(BARS[min(len(BARS) - 1, c * (len(BARS) - 1) // top)] for c in counts)


def hourly_and_over(
    events: Iterable[Event], now: datetime, hours: int = HOURS
) -> tuple[list[int], set[str]]:
    """(authenticated messages in each of the last `hours` hours, oldest first; the accounts
    refused by a sending limit in the last hour)."""
    counts = [0] * hours
    over: set[str] = set()
    start = now - timedelta(hours=hours)
    for ev in events:
        if ev.time < start or ev.time > now:
            continue
        if ev.kind == ARRIVAL and ev.user:
            counts[min(hours - 1, int((ev.time - start).total_seconds() // 3600))] += 1
        elif (
            ev.kind == REJECT
            and "helpdesk limit: " in ev.text
            and ev.time >= now - timedelta(hours=1)
        ):
            tail = ev.text.split(" A=", 1)[-1]
            over.add(tail.split(" ", 1)[0].lower())
    return counts, over


def outbound_text(
    counts: list[int],
    over: set[str],
    last: tuple[str, datetime, str | None] | None,
) -> Text:
    """The line itself: `Out/h ▁▂▃▅▅▆▇█ 412 · 2 over limit · stopped anna@… 30.11. 14:02`."""
    spark = sparkline(counts)
    now_count = counts[-1] if counts else 0
    over_text = M("{n} over limit", n=len(over))
    if last is None:
        action = M("watch: no action yet")
    else:
        action = M(
            "stopped {address} {when}",
            address=clip_middle(last[0], ADDRESS_WIDTH),
            when=last[1].strftime("%d.%m. %H:%M"),
        )
    return M(
        "Out/h {spark} {count} · {over} · {action}",
        spark=spark,
        count=now_count,
        over=over_text,
        action=action,
    )


def outbound_line(db: Database, events: Iterable[Event], now: datetime | None = None) -> Text:
    """The line from events the caller read (the send-log screen reads the mainlog anyway)."""
    from helpdesk.watch.store import last_action

    now = now or datetime.now()
    counts, over = hourly_and_over(events, now)
    with db.connect() as conn:
        last = last_action(conn)
    return outbound_text(counts, over, last)
