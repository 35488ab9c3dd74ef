"""The forms a Dovecot log line comes in, reduced to (time, Dovecot's own text).

- Dovecot's own `log_path`: `Nov 30 22:27:13 imap-login: Info: Login: ...` (the default
  `log_timestamp`, no year) or `2026-11-30 22:27:13 imap-login: Info: ...` (an ISO stamp).
- rsyslog's traditional format: `Nov 30 22:27:13 mail01 dovecot: imap-login: Login: ...`.
- rsyslog's RFC 3339 format: `2026-11-30T22:27:13.123456+01:00 mail01 dovecot: imap-login: ...`.
- journald's `journalctl -o json`: one JSON object a line, the text in MESSAGE, the time in
  __REALTIME_TIMESTAMP (microseconds since 1970).

A time without a year takes the year of the file's last change; a month later than that change
belongs to the year before (a log written in January still holds December's lines).
Through syslog Dovecot leaves out its level word ("Info: "); it is removed from its own file's
lines as well, so that the parser sees one text form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

_MONTHS = {
    m.encode(): i + 1
    for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())
}
_SHORT = re.compile(rb"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) ")
_ISO = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?(Z|[+\-]\d\d:?\d\d)? "
)
# `mail01 dovecot: ` or `mail01 dovecot[123]: ` (rsyslog); Dovecot's own file has no tag.
_TAG = re.compile(rb"(\S+) (dovecot|auth|imap-login|pop3-login|imap|pop3)(?:\[\d+\])?: ")
# What Dovecot itself starts its text with: `imap-login: `, `auth-worker(123): `, `imap(u)...: `
_OWN = re.compile(rb"[a-z][a-z0-9-]*(?:\([^)]*\))?(?:<[^>]*>)*: ")
_LEVEL = re.compile(rb"(Info|Warning|Error|Fatal|Panic|Debug): ")

FORMATS = ("dovecot", "syslog", "rfc3339", "journal")

Parsed = tuple[datetime, bytes]


def _strip_level(text: bytes) -> bytes:
    m = _OWN.match(text)
    if m is None:
        return text
    level = _LEVEL.match(text, m.end())
    return text if level is None else text[: m.end()] + text[level.end() :]


def _year(month: int, mtime: datetime) -> int:
    return mtime.year - 1 if month > mtime.month else mtime.year


def _short_time(m: re.Match[bytes], mtime: datetime) -> datetime | None:
    month = _MONTHS.get(m.group(1))
    if month is None:
        return None
    try:
        return datetime(
            _year(month, mtime), month, int(m.group(2)), *(int(m.group(i)) for i in (3, 4, 5))
        )
    except ValueError:
        return None


def _iso_time(m: re.Match[bytes]) -> datetime | None:
    try:
        when = datetime(*(int(m.group(i)) for i in range(1, 7)))
    except ValueError:
        return None
    zone = m.group(7)
    if zone:
        if zone in (b"Z", b"z"):
            offset = 0
        else:
            digits = zone[1:].replace(b":", b"")
            offset = (int(digits[:2]) * 60 + int(digits[2:4])) * (-1 if zone[:1] == b"-" else 1)
        try:
            tz = timezone(timedelta(minutes=offset))
            when = when.replace(tzinfo=tz).astimezone().replace(tzinfo=None)
        except (ValueError, OverflowError):
            return None
    return when


def parse_dovecot(line: bytes, mtime: datetime) -> Parsed | None:
    m = _SHORT.match(line)
    if m is not None:
        when = _short_time(m, mtime)
        rest = line[m.end() :]
    else:
        m = _ISO.match(line)
        if m is None or m.group(7) or line[10:11] == b"T":
            return None
        when = _iso_time(m)
        rest = line[m.end() :]
    if when is None or _OWN.match(rest) is None or _TAG.match(rest) is not None:
        return None
    return when, _strip_level(rest)


def parse_syslog(line: bytes, mtime: datetime) -> Parsed | None:
    m = _SHORT.match(line)
    if m is None:
        return None
    tag = _TAG.match(line, m.end())
    when = _short_time(m, mtime)
    if tag is None or when is None:
        return None
    return when, _text_after_tag(line[tag.end() :], tag)


def parse_rfc3339(line: bytes, mtime: datetime) -> Parsed | None:
    m = _ISO.match(line)
    if m is None or line[10:11] != b"T":
        return None
    tag = _TAG.match(line, m.end())
    when = _iso_time(m)
    if tag is None or when is None:
        return None
    return when, _text_after_tag(line[tag.end() :], tag)


def _text_after_tag(rest: bytes, tag: re.Match[bytes]) -> bytes:
    # `dovecot: imap-login: Login: ...`; with a program tag (`imap-login[12]: Login: ...`) the
    # program name is put back in front, so both read the same.
    program = tag.group(2)
    rest = _strip_level(rest)
    if program == b"dovecot" or _OWN.match(rest) is not None and rest.startswith(program):
        return rest
    return program + b": " + rest


def parse_journal(line: bytes, mtime: datetime) -> Parsed | None:
    if not line.startswith(b"{"):
        return None
    try:
        entry = json.loads(line)
        stamp = int(entry["__REALTIME_TIMESTAMP"])
        message = entry["MESSAGE"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if isinstance(message, list):  # journald writes non-UTF-8 text as a list of bytes
        try:
            message = bytes(message).decode("utf-8", "replace")
        except (ValueError, TypeError):
            return None
    if not isinstance(message, str):
        return None
    try:
        when = datetime.fromtimestamp(stamp / 1_000_000)
    except (ValueError, OverflowError, OSError):
        return None
    text = _strip_level(message.encode("utf-8", "surrogateescape"))
    ident = entry.get("SYSLOG_IDENTIFIER")
    if isinstance(ident, str) and ident != "dovecot" and _OWN.match(text) is None:
        text = ident.encode() + b": " + text
    return when, text


PARSERS: dict[str, Callable[[bytes, datetime], Parsed | None]] = {
    "dovecot": parse_dovecot,
    "syslog": parse_syslog,
    "rfc3339": parse_rfc3339,
    "journal": parse_journal,
}


# Any syslog line (`host program[pid]: `), Dovecot's or another program's in a shared mail.log.
_ANY_TAG = re.compile(rb"\S+ [\w.\-/]+(?:\[\d+\])?: ")


def detect(line: bytes) -> str | None:
    """The format a first line is in (whatever program wrote it), or None."""
    if line.startswith(b"{"):
        return "journal"
    m = _SHORT.match(line)
    if m is not None:
        if _OWN.match(line, m.end()) is not None and _TAG.match(line, m.end()) is None:
            return "dovecot"
        return "syslog" if _ANY_TAG.match(line, m.end()) is not None else None
    m = _ISO.match(line)
    if m is not None:
        if line[10:11] == b"T":
            return "rfc3339" if _ANY_TAG.match(line, m.end()) is not None else None
        return "dovecot" if _OWN.match(line, m.end()) is not None else None
    return None
