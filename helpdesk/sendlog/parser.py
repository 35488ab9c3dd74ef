"""Exim mainlog lines as events.

Lines are handled as bytes: a log is ASCII with the odd stray byte, and decoding only the fields
that are used is much cheaper than decoding every line (measured: bench/sendlog.py). Each line is
split into a time key, an optional Exim message id and the rest; the rest is recognised by cheap
prefix and substring checks before any regular expression runs.

Times: Exim writes its local wall-clock time without a zone unless `log_timezone` is set. A time
without a zone is taken as local time of the machine reading the log (normally the mail server);
a line with a zone is converted to that local time. All times here are naive local datetimes.
Syslog lines (`Jun 29 16:04:19 host exim[123]: ...`) carry no year: the year is the one that
puts the line not more than a day in the future.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.logs.mask import mask_credentials_bytes
from helpdesk.logs.timestamps import (  # noqa: F401 - part of this module's interface
    datetime_to_key,
    key_ok,
    key_seconds,
    key_to_datetime,
    newest_key,
    seconds_to_datetime,
    split_line,
)

# Kinds of event. Lines with a time but no kind of interest are "other" (kept for trails);
# lines without a recognisable time are not events at all and are counted as unreadable.
ARRIVAL = "arrival"  # <=
DELIVERY = "delivery"  # => (first), -> (additional address), *> (suppressed by -N)
DEFER = "defer"  # ==
BOUNCE = "bounce"  # **
COMPLETED = "completed"
REJECT = "reject"  # rejected RCPT / MAIL / after DATA / connection ...
AUTH_FAIL = "auth_fail"  # <name> authenticator failed for ...
SPAM_SCORE = (
    "spam_score"  # <id> spam-score=6.3 action=add header rcpt=a@x,b@y (the stack's logwrite)
)
OTHER = "other"

_B62 = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

_HOST = re.compile(rb"H=(?:([^\s(\[]\S*) )?(?:\((.*?)\) )?\[([0-9A-Fa-f.:]+|[^\]\s]+)\](?::(\d+))?")
_AUTHFAIL = re.compile(
    rb"(\S+) authenticator failed for (?:([^\s(\[]\S*) )?(?:\((.*?)\) )?\[([^\]\s]+)\](?::(\d+))?"
    rb".*?: (\d{3})[ -](.*)$"
)
_SET_ID = re.compile(rb" \(set_id=(.*?)\)(?::|$)")
_REJECT = re.compile(rb"(temporarily )?rejected (RCPT|MAIL|after DATA|after [A-Z]+|\S+)(.*)$")
_ADDR_IN_ANGLES = re.compile(rb"<([^>\s]*)>")
_SPAM = re.compile(rb"spam-score=(-?[\d.]+)\s+action=(.*?)(?:\s+rcpt=(\S*))?\s*$")


@dataclass(slots=True)
class Event:
    """One understood log line. Fields that a kind does not have stay None/empty."""

    kind: str
    time: datetime
    exim_id: str | None = None
    pid: int | None = None
    # arrival
    sender: str | None = None
    authenticator: str | None = None
    user: str | None = None  # A=authenticator:user; set_id on failed logins
    protocol: str | None = None
    tls: str | None = None  # X= cipher; None means no TLS
    host: str | None = None
    helo: str | None = None
    ip: str | None = None
    port: int | None = None
    size: int | None = None
    message_id: str | None = None
    subject: str | None = None
    recipients: tuple[str, ...] = ()
    # delivery / defer / bounce
    address: str | None = None
    mark: str | None = None  # =>, ->, *>, ==, **
    router: str | None = None
    transport: str | None = None
    # reject / defer / bounce / auth_fail / spam_score
    reason: str | None = None
    stage: str | None = None  # RCPT, MAIL, DATA, ...
    temporary: bool = False
    code: str | None = None
    score: float | None = None
    action: str | None = None
    text: str = field(default="", repr=False)  # the line itself, decoded


@dataclass(slots=True)
class Counts:
    """What a read saw: lines, events, and the lines it could not read (never fatal)."""

    lines: int = 0
    events: int = 0
    unreadable: int = 0
    too_long: int = 0
    files: int = 0
    bytes: int = 0
    broken_files: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.lines += other.lines
        self.events += other.events
        self.unreadable += other.unreadable
        self.too_long += other.too_long
        self.files += other.files
        self.bytes += other.bytes
        self.broken_files.extend(other.broken_files)


def _s(b: bytes | None) -> str | None:
    return None if b is None else b.decode("utf-8", "replace")


def split_id(line: bytes, pos: int) -> tuple[int | None, bytes | None, int]:
    """After the time: optional `[pid] `, optional Exim message id. -> (pid, id, offset of rest)."""
    pid = None
    if line[pos : pos + 1] == b"[":
        end = line.find(b"] ", pos)
        if end > 0 and line[pos + 1 : end].isdigit():
            pid = int(line[pos + 1 : end])
            pos = end + 2
    if line[pos + 6 : pos + 7] == b"-":
        # 1jmFYj-00039V-QX (16) or, from Exim 4.97 on, 10HmaX-000000005vi-0000 (23)
        if line[pos + 13 : pos + 14] == b"-" and line[pos + 16 : pos + 17] in (b" ", b""):
            end = pos + 16
        elif line[pos + 18 : pos + 19] == b"-" and line[pos + 23 : pos + 24] in (b" ", b""):
            end = pos + 23
        else:
            return pid, None, pos
        eid = line[pos:end]
        if _B62.issuperset(eid.replace(b"-", b"")):
            return pid, eid, end + 1
    return pid, None, pos


# --- fields -------------------------------------------------------------------------------


def _token(rest: bytes, tag: bytes, start: int = 0) -> bytes | None:
    """The value of ` TAG=value` (up to the next space) at or after start."""
    i = rest.find(tag, start)
    if i < 0:
        return None
    i += len(tag)
    j = rest.find(b" ", i)
    return rest[i:] if j < 0 else rest[i:j]


def quoted_end(rest: bytes, i: int) -> int:
    """Index of the closing quote of a string whose opening quote is at i-1 (\\" escapes)."""
    while True:
        j = rest.find(b'"', i)
        if j < 0:
            return len(rest)
        k = j - 1
        while k >= i and rest[k] == 92:  # backslash
            k -= 1
        if (j - 1 - k) % 2 == 0:
            return j
        i = j + 1


def _unescape(value: bytes) -> str:
    # Exim escapes quotes and backslashes and prints non-printing bytes as \ooo.
    if b"\\" not in value:
        return value.decode("utf-8", "replace")
    out = bytearray()
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == 92 and i + 1 < n:
            nxt = value[i + 1 : i + 4]
            if len(nxt) == 3 and all(48 <= x <= 55 for x in nxt):
                out.append(int(nxt, 8) & 0xFF)
                i += 4
                continue
            out.append(value[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return out.decode("utf-8", "replace")


@dataclass(slots=True)
class HostInfo:
    host: bytes | None
    helo: bytes | None
    ip: bytes | None
    port: int | None
    end: int


def host_info(rest: bytes, start: int = 0) -> HostInfo | None:
    """H=name (helo) [ip]:port in any of its shapes, searched from start."""
    i = rest.find(b"H=", start)
    while i > 0 and rest[i - 1] != 32:  # a field, not the tail of another word
        i = rest.find(b"H=", i + 2)
    if i < 0:
        return None
    m = _HOST.match(rest, i)
    if m is None:
        return None
    port = m.group(4)
    return HostInfo(m.group(1), m.group(2), m.group(3), int(port) if port else None, m.end())


def parse_arrival(rest: bytes) -> dict:
    """Fields of `<= sender ...` (rest starts after '<= ')."""
    sp = rest.find(b" ")
    sender = rest if sp < 0 else rest[:sp]
    out: dict = {"sender": _s(sender)}
    pos = max(sp, 0)
    # Fields come in Exim's order; searching from after H= keeps a forged HELO from posing as A=.
    h = host_info(rest, pos)
    if h is not None:
        out.update(host=_s(h.host), helo=_s(h.helo), ip=_s(h.ip), port=h.port)
        pos = h.end
    t = rest.find(b' T="', pos)
    head = rest if t < 0 else rest[:t]
    proto = _token(head, b" P=", pos)
    out["protocol"] = _s(proto)
    x = _token(head, b" X=", pos)
    out["tls"] = _s(x)
    a = _token(head, b" A=", pos)
    if a is not None:
        auth, _, user = a.partition(b":")
        out["authenticator"] = _s(auth)
        out["user"] = _s(user) if user else None
    size = _token(head, b" S=", pos)
    out["size"] = int(size) if size and size.isdigit() else None
    mid = _token(head, b" id=", pos)
    out["message_id"] = _s(mid)
    tail = len(head)
    if t >= 0:
        e = quoted_end(rest, t + 4)
        out["subject"] = _unescape(rest[t + 4 : e])
        tail = e + 1
    f = rest.find(b" for ", tail if t >= 0 else pos)
    out["recipients"] = tuple(rest[f + 5 :].decode("utf-8", "replace").split()) if f >= 0 else ()
    return out


def parse_delivery(rest: bytes) -> dict:
    """Fields of `=> addr [<orig>] R=router T=transport ...` (rest starts after the arrow)."""
    sp = rest.find(b" ")
    addr = rest if sp < 0 else rest[:sp]
    # `=> userx <userx@test.ex>`: a local part, then the address it came from
    if sp >= 0 and rest[sp + 1 : sp + 2] == b"<":
        m = _ADDR_IN_ANGLES.match(rest, sp + 1)
        if m is not None and b"@" not in addr:
            addr = m.group(1)
    out: dict = {"address": _s(addr.rstrip(b":"))}
    out["router"] = _s(_token(rest, b" R=", max(sp, 0)))
    out["transport"] = _s(_token(rest, b" T=", max(sp, 0)))
    h = host_info(rest, max(sp, 0))
    if h is not None:
        out.update(host=_s(h.host), ip=_s(h.ip), port=h.port)
    colon = rest.find(b": ", max(sp, 0))
    if colon >= 0:
        out["reason"] = _s(rest[colon + 2 :])
    return out


def parse_reject(rest: bytes) -> dict | None:
    i = rest.find(b"rejected ")
    if i < 0:
        return None
    m = _REJECT.match(rest, i - 12 if rest[max(i - 12, 0) : i] == b"temporarily " else i)
    if m is None:
        return None
    stage = m.group(2)
    out: dict = {
        "temporary": bool(m.group(1)),
        "stage": _s(stage[6:] if stage.startswith(b"after ") else stage),
    }
    tail = m.group(3)
    if stage == b"RCPT" or stage == b"MAIL":
        am = _ADDR_IN_ANGLES.match(tail, 1)
        if am is not None:
            out["address"] = _s(am.group(1))
        else:
            tok = tail[1:].split(b":", 1)[0].split(b" ", 1)[0]
            out["address"] = _s(tok) or None
    colon = tail.find(b": ")
    if colon >= 0:
        out["reason"] = _s(tail[colon + 2 :])
    head = rest[:i]
    h = host_info(head)
    if h is not None:
        out.update(host=_s(h.host), helo=_s(h.helo), ip=_s(h.ip), port=h.port)
    f = _token(head, b"F=")
    if f is not None:
        out["sender"] = _s(f.strip(b"<>"))
    a = _token(head, b"A=")
    if a is not None:
        auth, _, user = a.partition(b":")
        out["authenticator"] = _s(auth)
        out["user"] = _s(user) if user else None
    return out


def parse_auth_fail(rest: bytes) -> dict | None:
    m = _AUTHFAIL.search(rest)
    if m is None:
        return None
    port = m.group(5)
    reason = m.group(7)
    sid = _SET_ID.search(reason)
    if sid is not None:
        reason = reason[: sid.start()] + reason[sid.end() :].rstrip(b":")
    return {
        "authenticator": _s(m.group(1)),
        "host": _s(m.group(2)),
        "helo": _s(m.group(3)),
        "ip": _s(m.group(4)),
        "port": int(port) if port else None,
        "code": _s(m.group(6)),
        "reason": _s(reason),
        "user": _s(sid.group(1)) if sid is not None else None,
    }


def parse_spam_score(rest: bytes) -> dict | None:
    m = _SPAM.search(rest)
    if m is None:
        return None
    try:
        score = float(m.group(1))
    except ValueError:
        return None
    rcpts = m.group(3)
    return {
        "score": score,
        "action": _s(m.group(2)),
        "recipients": tuple(r for r in _s(rcpts).split(",") if r) if rcpts else (),
    }


def protocol_has_tls(protocol: str | bytes) -> bool:
    """esmtps/esmtpsa (and their utf8 forms) are TLS; esmtp/esmtpa are not."""
    p = protocol if isinstance(protocol, str) else protocol.decode("ascii", "replace")
    return p.removeprefix("utf8").startswith(("esmtps", "smtps"))


def classify(rest: bytes, has_id: bool) -> str:
    """The kind of the text after time and id, by cheap checks only."""
    head = rest[:3]
    if has_id:
        if head == b"<= ":
            return ARRIVAL
        if head in (b"=> ", b"-> ", b"*> "):
            return DELIVERY
        if head == b"== ":
            return DEFER
        if head == b"** ":
            return BOUNCE
        if rest == b"Completed" or rest.startswith(b"Completed "):
            return COMPLETED
        if b"spam-score=" in rest:
            return SPAM_SCORE
    if b"rejected " in rest and (b"F=" in rest or b"H=" in rest or b"U=" in rest):
        return REJECT
    if b" authenticator failed for " in rest:
        return AUTH_FAIL
    return OTHER


_PARSERS = {
    ARRIVAL: lambda r: parse_arrival(r[3:]),
    DELIVERY: lambda r: parse_delivery(r[3:]),
    DEFER: lambda r: parse_delivery(r[3:]),
    BOUNCE: lambda r: parse_delivery(r[3:]),
    REJECT: parse_reject,
    AUTH_FAIL: parse_auth_fail,
    SPAM_SCORE: parse_spam_score,
}


def parse_line(line: bytes | str, now: datetime | None = None) -> Event | None:
    """One log line -> Event, or None when it has no time that can be true (unreadable).

    Credentials a line may hold (a logged AUTH command) are masked before anything is taken
    from it, so no field and no `text` of an Event carries them."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    line = mask_credentials_bytes(line.rstrip(b"\r\n"))
    if len(line) > 19 and line[4] == 45 and line[10] == 32 and line[19] == 32:
        key, pos = line[:19], 20
        if line[pos : pos + 1] in (b"+", b"-") and line[pos + 5 : pos + 6] == b" ":
            sp = split_line(line, now)
            if sp is None:
                return None
            key, pos = sp
    else:
        sp = split_line(line, now)
        if sp is None:
            return None
        key, pos = sp
    if not key_ok(key, newest_key(now)):
        return None
    when = key_to_datetime(key)
    pid, eid, pos = split_id(line, pos)
    rest = line[pos:]
    kind = classify(rest, eid is not None)
    fields = None
    parser = _PARSERS.get(kind)
    if parser is not None:
        try:
            fields = parser(rest)
        except (ValueError, IndexError):
            fields = None
        if fields is None:
            kind = OTHER
    ev = Event(kind, when, _s(eid), pid, text=line.decode("utf-8", "replace"))
    if kind in (DELIVERY, DEFER, BOUNCE):
        ev.mark = rest[:2].decode()
    if fields:
        for k, v in fields.items():
            setattr(ev, k, v)
    if kind == ARRIVAL and ev.tls is None and ev.protocol and protocol_has_tls(ev.protocol):
        ev.tls = "TLS"  # P=esmtpsa says TLS even where X= is not logged (-tls_cipher)
    return ev


def iter_events(lines: Iterable[bytes | str], now: datetime | None = None) -> Iterator[Event]:
    """Events of the lines that have a time; unreadable lines are skipped."""
    for line in lines:
        ev = parse_line(line, now)
        if ev is not None:
            yield ev
