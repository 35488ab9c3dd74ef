"""Times in Exim log lines, as sortable keys.

A key is the 19 bytes `YYYY-MM-DD HH:MM:SS` of naive local time: keys compare like the times
they stand for, so the readers filter a window without building a datetime per line.

Exim writes its local wall-clock time without a zone unless `log_timezone` is set. A time
without a zone is taken as local time of the machine reading the log (normally the mail server);
a line with a zone is converted to that local time. Syslog lines (`Jun 29 16:04:19 host
exim[123]: ...`) carry no year: the year is the one that puts the line not more than a day in
the future.

A line's time decides which window it falls in, so a time that cannot be true makes the line
unreadable (never an error): an impossible date or clock time, a zone that overflows, a time
before 1970 or more than a day after now. key_ok() is the one check, cheap enough for every line.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone

_EPOCH = date(1970, 1, 1)
OLDEST_KEY = b"1970-01-01 00:00:00"
# Clocks of the mail server and of the reader may differ, and zones shift local time: a day.
FUTURE_SLACK = timedelta(days=1)
_HOURS = frozenset(b"%02d" % i for i in range(24))
_SIXTY = frozenset(b"%02d" % i for i in range(60))
_DAY = re.compile(rb"\d{4}-\d\d-\d\d")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        ]
    )
}
# `host exim[123]: ` as syslog, rsyslog and journald put before Exim's own text.
_SYSLOG_TAG = re.compile(rb"(?:\S+ )?[\w.\-/]+\[\d+\]: ")
_SYSLOG_TIME = re.compile(rb"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) ")
_ISO_TIME = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?"
    rb"(?: ?(Z|[+\-]\d\d:?\d\d))? "
)


def _real_day(day: bytes, _days: dict[bytes, bool] = {}) -> bool:  # noqa: B006 - a cache
    ok = _days.get(day)
    if ok is None:
        ok = _DAY.fullmatch(day) is not None
        if ok:
            try:
                date(int(day[0:4]), int(day[5:7]), int(day[8:10]))
            except ValueError:
                ok = False
        if len(_days) < 4096:
            _days[day] = ok
    return ok


def key_ok(key: bytes, newest: bytes) -> bool:
    """True if key is a real date and clock time from 1970 up to newest (see newest_key)."""
    return (
        OLDEST_KEY <= key <= newest
        and key[13:14] == b":"
        and key[16:17] == b":"
        and key[11:13] in _HOURS
        and key[14:16] in _SIXTY
        and key[17:19] in _SIXTY
        and _real_day(key[:10])
    )


_WALL: list = [float("-inf"), b""]


def newest_key(now: datetime | None = None) -> bytes:
    """The latest time a line may carry: a day after now (and after the clock, if later)."""
    tick = time.monotonic()
    if tick - _WALL[0] > 1.0:
        _WALL[0], _WALL[1] = tick, datetime_to_key(datetime.now() + FUTURE_SLACK)
    if now is None:
        return _WALL[1]
    try:
        return max(_WALL[1], datetime_to_key(now + FUTURE_SLACK))
    except OverflowError:
        return _WALL[1]


def key_to_datetime(key: bytes) -> datetime:
    """b'2026-11-27 21:50:51' -> datetime (naive local)."""
    return datetime(
        int(key[0:4]),
        int(key[5:7]),
        int(key[8:10]),
        int(key[11:13]),
        int(key[14:16]),
        int(key[17:19]),
    )


def datetime_to_key(when: datetime) -> bytes:
    return when.strftime("%Y-%m-%d %H:%M:%S").encode()


def key_seconds(key: bytes, _days: dict[bytes, int] = {}) -> int:  # noqa: B006 - a cache on purpose
    """Seconds since 1970-01-01 00:00 of the naive local time in key, for bucketing."""
    day = key[:10]
    d = _days.get(day)
    if d is None:
        d = (date(int(day[0:4]), int(day[5:7]), int(day[8:10])) - _EPOCH).days * 86400
        if len(_days) < 4096:
            _days[day] = d
    return d + int(key[11:13]) * 3600 + int(key[14:16]) * 60 + int(key[17:19])


def seconds_to_datetime(seconds: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(seconds=seconds)


def json_time(when: datetime | None) -> str | None:
    """A naive local log time (this machine's zone, as the logs write it) as --json and the
    database keep times: UTC, ISO 8601 with a Z."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zoned_key(y, mo, d, h, mi, s, zone: bytes) -> bytes:
    if zone in (b"Z", b"z"):
        tz = UTC
    else:
        sign = -1 if zone[:1] == b"-" else 1
        digits = zone[1:].replace(b":", b"")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
    local = datetime(y, mo, d, h, mi, s, tzinfo=tz).astimezone().replace(tzinfo=None)
    return datetime_to_key(local)


def _syslog_year(month: int, day: int, now: datetime) -> int:
    year = now.year
    try:
        if datetime(year, month, day) > now + timedelta(days=1):
            year -= 1
    except ValueError:  # 29 Feb in a year without one
        year -= 1
    return year


def split_line(line: bytes, now: datetime | None = None) -> tuple[bytes, int] | None:
    """(time key, offset of what follows the time) for any line form, or None if no time.

    The fast form (`YYYY-MM-DD HH:MM:SS ` at the start) is checked inline by the readers; this is
    the general case: milliseconds, a zone, syslog and journald prefixes.
    """
    m = _ISO_TIME.match(line)
    if m is not None:
        pos = m.end()
        key = line[:10] + b" " + line[11:19]
        if m.group(7):
            try:
                key = _zoned_key(*(int(g) for g in m.groups()[:6]), m.group(7))
            except (ValueError, OverflowError):
                return None  # an impossible date, or a zone that takes it out of range
        # `2019-10-22 03:39:17 mx1 exim[29786]: ...` (syslog-ng with an ISO stamp)
        t = _SYSLOG_TAG.match(line, pos)
        if t is not None:
            pos = t.end()
            if _ISO_TIME.match(line, pos) is not None:
                sub = split_line(line[pos:], now)
                if sub is not None:
                    return sub[0], pos + sub[1]
        return key, pos
    m = _SYSLOG_TIME.match(line)
    if m is not None:
        month = _MONTHS.get(m.group(1))
        if month is None:
            return None
        t = _SYSLOG_TAG.match(line, m.end())
        if t is None:
            return None
        pos = t.end()
        inner = _ISO_TIME.match(line, pos)
        if inner is not None:  # Exim's own stamp after the syslog one is the better one
            sub = split_line(line[pos:], now)
            if sub is not None:
                return sub[0], pos + sub[1]
        day, h, mi, s = (int(m.group(i)) for i in range(2, 6))
        year = _syslog_year(month, day, now or datetime.now())
        try:
            return datetime(year, month, day, h, mi, s).strftime("%Y-%m-%d %H:%M:%S").encode(), pos
        except ValueError:
            return None
    # journald: `mail.example.com exim[3751842]: 2021-07-17 23:20:49 ...`
    t = _SYSLOG_TAG.match(line)
    if t is not None and _ISO_TIME.match(line, t.end()) is not None:
        sub = split_line(line[t.end() :], now)
        if sub is not None:
            return sub[0], t.end() + sub[1]
    return None


def split_parts(line: bytes, now: datetime | None = None) -> tuple[bytes, bytes | None, int] | None:
    """(time key as written, its zone or None, offset of what follows the time), or None.

    Like split_line, but the time is not converted: a reader that knows the zone of a host
    whose lines carry none (helpdesk/sendlog/hosts.py) converts it itself."""
    m = _ISO_TIME.match(line)
    if m is not None:
        pos = m.end()
        t = _SYSLOG_TAG.match(line, pos)
        if t is not None and _ISO_TIME.match(line, t.end()) is not None:
            sub = split_parts(line[t.end() :], now)
            if sub is not None:
                return sub[0], sub[1], t.end() + sub[2]
        return line[:10] + b" " + line[11:19], m.group(7), pos
    m = _SYSLOG_TIME.match(line)
    if m is not None:
        month = _MONTHS.get(m.group(1))
        t = _SYSLOG_TAG.match(line, m.end())
        if month is None or t is None:
            return None
        pos = t.end()
        if _ISO_TIME.match(line, pos) is not None:  # Exim's own stamp is the better one
            sub = split_parts(line[pos:], now)
            if sub is not None:
                return sub[0], sub[1], pos + sub[2]
        day, h, mi, s = (int(m.group(i)) for i in range(2, 6))
        year = _syslog_year(month, day, now or datetime.now())
        return b"%04d-%02d-%02d %02d:%02d:%02d" % (year, month, day, h, mi, s), None, pos
    t = _SYSLOG_TAG.match(line)
    if t is not None and _ISO_TIME.match(line, t.end()) is not None:
        sub = split_parts(line[t.end() :], now)
        if sub is not None:
            return sub[0], sub[1], t.end() + sub[2]
    return None
