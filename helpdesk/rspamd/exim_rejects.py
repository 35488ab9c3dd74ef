"""Exim's side of blocked outbound mail: the submission `rejected after DATA` lines with `A=`
(the full login, the customer's text, and what the stack's ACL appends: digest, release,
Message-ID, subject), read from the mainlogs the send-log review reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpdesk.logs.mask import mask_credentials
from helpdesk.logs.timestamps import FUTURE_SLACK

_REJECT = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)?(?: (?P<tz>[+-]\d{4}))?"
    r"(?: \[\d+\])?(?: (?P<eximid>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}))?"
    r" (?P<rest>.*?) (?P<temp>temporarily )?rejected after DATA(?:: (?P<text>.*))?$"
)
_FIELD = {
    "auth": re.compile(r"(?:^| )A=(?:[^:\s]+:)?(?P<v>\S+)"),
    "sender": re.compile(r"(?:^| )F=<(?P<v>[^>]*)>"),
    "ip": re.compile(r"(?:^| )H=.*?\[(?P<v>[0-9A-Fa-f:.]+)\]"),
}
_PLAUSIBLE_FROM = datetime(1970, 1, 1)
_MESSAGE_ID = re.compile(r"<(?P<v>[^<>\s@]+@[^<>\s]+)>")
# What the stack's Exim ACL appends to a refusal (stack/exim/exim.conf.in, docs/rspamd.md):
#   <customer text> -- digest=<hex|-> release=<none|used-up> id=<Message-ID> T=<Subject>
# id and T are written with Exim's ${quote:}: bare, or in double quotes with \" and \\.
_QUOTED = r'(?:"(?:[^"\\]|\\.)*"|\S*)'
_HELPDESK_TAIL = re.compile(
    r" -- digest=(?P<digest>[0-9a-f]{32,64}|-)(?: release=(?P<release>[a-z-]+))?"
    rf"(?: id=(?P<mid>{_QUOTED}))?(?: T=(?P<subject>.*))?$"
)


@dataclass(frozen=True)
class EximReject:
    time: datetime  # naive UTC
    user: str
    sender: str
    ip: str
    text: str
    temporary: bool
    exim_id: str = ""
    message_id: str = ""  # only when the ACL's log text carries it
    digest: str = ""  # rspamd's content digest, where the ACL logs it
    subject: str = ""
    release_used_up: bool = False  # rspamd matched a release whose uses were all taken


def parse_reject_line(line: str) -> EximReject | None:
    """A submission `rejected after DATA` line with A=, else None (inbound rejects have no A=)."""
    m = _REJECT.match(line.rstrip("\r\n"))
    if not m:
        return None
    rest = m.group("rest")
    auth = _FIELD["auth"].search(rest)
    if not auth:
        return None
    try:  # an impossible date or a zone that overflows is a line not understood
        stamp = datetime.strptime(m.group("date"), "%Y-%m-%d %H:%M:%S")
        if m.group("tz"):
            stamp = datetime.strptime(f"{m.group('date')} {m.group('tz')}", "%Y-%m-%d %H:%M:%S %z")
        else:
            stamp = stamp.astimezone()  # Exim logs local time unless told otherwise
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    if not _PLAUSIBLE_FROM <= stamp <= datetime.now(UTC).replace(tzinfo=None) + FUTURE_SLACK:
        return None  # a time that cannot be true (helpdesk/logs/timestamps.py)
    text = (m.group("text") or "").strip()
    tail = _HELPDESK_TAIL.search(text)
    digest = subject = message_id = ""
    used_up = False
    if tail:
        text = text[: tail.start()]
        digest = "" if tail.group("digest") == "-" else tail.group("digest")
        used_up = tail.group("release") == "used-up"
        message_id = _unquote(tail.group("mid") or "").strip().strip("<>")
        subject = _unfold(_unquote(tail.group("subject") or ""))
    text = mask_credentials(text)
    sender = _FIELD["sender"].search(rest)
    ip = _FIELD["ip"].search(rest)
    mid = _MESSAGE_ID.search(text)
    return EximReject(
        time=stamp,
        user=auth.group("v"),
        sender=sender.group("v") if sender else "",
        ip=ip.group("v") if ip else "",
        text=text,
        temporary=bool(m.group("temp")),
        exim_id=m.group("eximid") or "",
        message_id=message_id or (mid.group("v") if mid else ""),
        digest=digest,
        subject=subject,
        release_used_up=used_up,
    )


def _unquote(value: str) -> str:
    """A value the ACL logs as `${quote:${escape:...}}` (stack/exim/exim.conf.in), decoded to
    text: the quotes and their backslashes first, then Exim's `escape` (`\\ooo` for bytes it
    deems non-printing, UTF-8 included, and `\\n`, `\\t` ...). Lines from before `escape`
    (raw bytes inside the quotes) read the same. What is shown still goes through
    plaintext/plain, which shows control characters as escapes."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    if "\\" not in value:
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return _unescape(_unquote_bytes(raw)).decode("utf-8", "replace")


# ${quote:} writes newline and carriage return as \n and \r, and escapes \ and ".
_QUOTE_ESCAPES = {ord("n"): 10, ord("r"): 13}
# ${quote:} never writes a lone backslash before digits: \ooo there is Exim's own escape, as
# in the T= of its arrival lines, left for the second pass.
_OCTAL = re.compile(rb"[0-7]{3}")
# ${escape:} (Exim's string_printing): these letters, else three octal digits.
_ESCAPE_LETTERS = {ord(k): ord(v) for k, v in zip("nrtbvf", "\n\r\t\b\v\f", strict=True)}


def _unquote_bytes(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 92 and i + 1 < len(raw) and not _OCTAL.match(raw, i + 1):
            out.append(_QUOTE_ESCAPES.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return bytes(out)


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 92 and i + 1 < len(raw):
            octal = raw[i + 1 : i + 4]
            if len(octal) == 3 and all(48 <= c <= 55 for c in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            if raw[i + 1] in _ESCAPE_LETTERS:
                out.append(_ESCAPE_LETTERS[raw[i + 1]])
                i += 2
                continue
        # `escape` leaves a backslash of the text as it is.
        out.append(raw[i])
        i += 1
    return bytes(out)


def _unfold(subject: str) -> str:
    """A folded Subject header keeps its line breaks in Exim's $h_Subject:; unfolded as RFC
    5322 says (the break goes, the space after it stays)."""
    return re.sub(r"\r?\n(?=[ \t])", "", subject)


def configured_mainlogs(config: Any) -> list[str]:
    """The mainlogs the send-log review reads ([sendlog] paths, or the default where it exists)."""
    from helpdesk.sendlog.settings import SendlogSettings

    return list(SendlogSettings.from_config(config).existing_paths())


def read_exim_rejects(
    patterns: Iterable[str | Path], since: datetime | None = None, *, recent_only: bool = False
) -> list[EximReject]:
    """Submission rejects from Exim logs (paths or globs, plain or gzip).

    `recent_only`: of a rotated set, only the files that can hold lines since `since` (only the
    current file without it): rspamd's history reaches back hours, not weeks.
    Only lines that can be rejections are decoded: a mainlog is mostly deliveries.
    """
    from helpdesk.logs.files import expand, first_time, line_batches

    files = expand(patterns)
    if recent_only and files:
        keep = len(files) - 1
        while since is not None and keep > 0:
            started = first_time(files[keep].path)
            if started is None or started <= since:
                break
            keep -= 1
        files = files[keep:]
    out: list[EximReject] = []
    for _, _, lines in line_batches(files):
        for raw in lines:
            if b"rejected after DATA" not in raw or b" A=" not in raw:
                continue
            entry = parse_reject_line(raw.decode("utf-8", errors="replace"))
            if entry and (since is None or entry.time >= since):
                out.append(entry)
    return out
