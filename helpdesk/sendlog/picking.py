"""The hot part of the offender read (helpdesk/sendlog/offenders.py): the few lines of a chunk
that the ranking needs, found by searching the bytes, and the arrival lines cut into the fields
the ranking uses.

Measured on a 300 MB generated mainlog (bench/sendlog.py): one line in eight holds ` A=` or a
failed login; everything else is never split out of the chunk. Searching for `A=` with the
`re` module is about twice as fast as `bytes.find(b" A=")` (whose first byte, a space, is
everywhere), and a failed login is found by its long, rare text. An arrival is cut with `find`
from the positions Exim's field order allows, never with a regular expression, and nothing is
decoded but a login name the first time it is seen.
"""

from __future__ import annotations

import re
from typing import Any

from helpdesk.sendlog.parser import key_ok, key_seconds, protocol_has_tls, quoted_end

# The scans are offenders._Scan objects: offenders imports this module, not the reverse.
_Scan = Any

_A = re.compile(rb"A=")
# The ACL's log_message when a suspended mailbox tries to send (docs/limits.md): Exim names no
# login on a MAIL refusal, so the ACL adds `(A=authenticator:login)`.
SUSPENDED = b"Sending is suspended for this mailbox ("
FAILED = b"authenticator failed for "  # Exim: `<name> authenticator failed for <host>: ...`
_NAMES_MAX = 100_000  # `A=` values whose decoded name (and totals) are kept at hand
_DOMAINS_MAX = 1_000_000  # recipient domains shared as one bytes object each
_SECS = {b"%02d" % n: n for n in range(60)}
_MINUTES: dict[bytes, int] = {}  # `YYYY-MM-DD HH:MM` -> its seconds since 1970 (naive local)
_TLS: dict[bytes, bool] = {}


def _suspended(data: bytes, i: int) -> bool:
    """The `(A=` of a refusal while sending is suspended (offenders.SUSPENDED), which the
    ranking counts: the only `A=` after a bracket that is read."""
    return data[i - len(SUSPENDED) : i] == SUSPENDED


def pick(data: bytes) -> list[bytes] | None:
    """The lines of a chunk that hold ` A=` or a failed login, in log order (a line holding
    both once). None when one of them is an arrival without `for`: recipients must then come
    from the delivery lines, so the chunk has to be read line by line."""
    find, rfind, search = data.find, data.rfind, _A.search
    lines: list[bytes] = []
    starts: list[int] = []
    m = search(data)
    while m is not None:
        i = m.start()
        if i == 0 or data[i - 1] != 32 and not _suspended(data, i):  # `A=` in a word
            m = search(data, i + 1)
            continue
        ls = rfind(b"\n", 0, i) + 1
        le = find(b"\n", i)
        if le < 0:
            le = len(data)
        line = data[ls:le]
        if b"<= " in line[:60] and b" for " not in line:
            return None
        lines.append(line)
        starts.append(ls)
        m = search(data, le)
    i = find(FAILED)
    if i < 0:
        return lines
    failed: list[tuple[int, bytes]] = []
    while i >= 0:
        ls = rfind(b"\n", 0, i) + 1
        le = find(b"\n", i)
        if le < 0:
            le = len(data)
        line = data[ls:le]
        if b"<= " in line[:60] and b" for " not in line:
            return None
        failed.append((ls, line))
        i = find(FAILED, le)
    both = sorted([*zip(starts, lines, strict=True), *failed], key=lambda p: p[0])
    return [p[1] for k, p in enumerate(both) if k == 0 or p[0] != both[k - 1][0]]


def _failed(data: bytes) -> list[tuple[int, bytes]]:
    """(line start, line) of the failed logins in a chunk: rare, found by their long text."""
    find, rfind = data.find, data.rfind
    out = []
    i = find(FAILED)
    while i >= 0:
        ls = rfind(b"\n", 0, i) + 1
        le = find(b"\n", i)
        if le < 0:
            le = len(data)
        out.append((ls, data[ls:le]))
        i = find(FAILED, le)
    return out


def read_chunk(scan: _Scan, data: bytes) -> None:  # noqa: C901 - one loop on purpose
    """What _Scan.feed would make of the picked lines of a chunk, with the common line, an
    arrival in Exim's own form (`YYYY-MM-DD HH:MM:SS <id> <= sender ... A=...`), read here
    without building a list or calling anything per line. Other picked lines go to feed one
    by one, in log order. An arrival without `for` sends the rest of the chunk, from that
    line on, through feed line by line (no line before it was followed, so none is missed).

    Only for a scan that has its earliest time and follows no message (see feed_data)."""
    find, rfind, search = data.find, data.rfind, _A.search
    failed = _failed(data)
    nfailed, fi = len(failed), 0
    fed = 0  # lines handed to feed, which counts them itself
    feed = scan.feed
    base_key, start_key, newest = scan.base_key, scan.start_key, scan.newest
    good_min, min_secs = b"", 0  # the minute (`YYYY-MM-DD HH:MM:`) last found real
    watch = True  # until a message is followed
    by_auth, users, baseline_ips = scan.by_auth, scan.users, scan.baseline_ips
    names, user_names = scan.domain_names, scan.user_names
    minutes, secs60 = _MINUTES, _SECS
    m = search(data)
    while True:
        if m is None:
            if fi == nfailed:
                break
            ls = len(data) + 1  # only failed logins are left
        else:
            i = m.start()
            if i == 0 or data[i - 1] != 32 and not _suspended(data, i):  # `A=` in a word
                m = search(data, i + 1)
                continue
            ls = rfind(b"\n", 0, i) + 1
        while fi < nfailed and failed[fi][0] <= ls:  # failed logins before this line
            fls, line = failed[fi]
            fi += 1
            if fls == ls:
                continue  # this very line, read below
            if b" for " not in line and b"<= " in line[:60]:
                feed(data[fls:].split(b"\n"))
                scan.lines += data.count(b"\n", 0, fls) - fed
                return
            feed([line])
            fed += 1
        if m is None:
            break
        le = find(b"\n", i)
        if le < 0:
            le = len(data)
        m = search(data, le)
        line = data[ls:le]
        # (recipients end the line: looked for from its end)
        if line.rfind(b" for ") < 0 and b"<= " in line[:60]:
            feed(data[ls:].split(b"\n"))
            scan.lines += data.count(b"\n", 0, ls) - fed
            return
        a = i - ls - 1  # where ` A=` is
        # Exim's own form, as feed reads it: the 16- or the 23-character message id
        if line[36:40] == b" <= " and line[33] == 45:
            r = 40
        elif line[43:47] == b" <= " and line[38] == 45 and not (line[33] == 45 and line[36] == 32):
            r = 47
        else:
            r = 0
        if not (
            r and a > r and line[4] == 45 and line[10] == 32 and line[19] == 32 and line[26] == 45
        ):
            feed([line])
            fed += 1
            if scan.pending and watch:
                watch = False
                if _rest_by_lines(scan, data, le, fed):
                    return
            continue
        key = line[:19]
        # lines of one minute share the check of the date and clock but for the seconds
        if not (line[:17] == good_min and key[17:19] in secs60 and key <= newest):
            if not key_ok(key, newest):
                scan.unreadable += 1  # a line the ranking needed
                continue
            good_min = key[:17]
            min_secs = minutes.get(key[:16])
            if min_secs is None:
                min_secs = _minute(key)
        if key < base_key:
            continue
        # sender H= I= P= L X= CV= DN= A= K S= id= T="..." from for
        h = line.find(b" H=", r, a)
        if h < 0:
            ip = None
        else:
            b = line.find(b" [", h, a)
            ip = line[b + 2 : line.find(b"]", b)] if b > 0 else None
        e = line.find(b" ", a + 3)
        auth = line[a + 3 : e] if e > 0 else line[a + 3 :]
        if key < start_key:  # the baseline: which addresses the login used
            user = user_names.get(auth) or _user(scan, auth, line, r)
            if user is not None and ip:
                ips = baseline_ips.get(user)
                if ips is None:
                    ips = baseline_ips[user] = set()
                ips.add(ip)
            continue
        s = by_auth.get(auth)
        if s is None:
            user = _user(scan, auth, line, r)
            if user is None:
                continue
            s = users.get(user) or scan.stats(user)
            if len(by_auth) < _NAMES_MAX:
                by_auth[auth] = s
        s.accepted += 1
        if ip:
            ips = s.ips
            ips[ip] = ips.get(ip, 0) + 1
        if line.find(b" X=", r, a) < 0 and _no_tls(line, r, a):
            s.no_tls += 1
        s._submitted(min_secs + secs60[key[17:19]])
        # recipients: after the subject if there is one (a subject may contain " for ")
        start = e if e > 0 else a
        t = line.find(b' T="', start)
        if t >= 0:
            start = line.find(b'"', t + 4)
            if start < 0:
                start = len(line)
            elif start > t + 4 and line[start - 1] == 92:  # an escaped quote inside
                start = quoted_end(line, t + 4)
        f = line.find(b" for ", start)
        if f >= 0:
            rcpts = line[f + 5 :].lower().split()
            s.recipients += len(rcpts)
            doms = s.domains
            for rc in rcpts:
                d = rc[rc.rfind(b"@") + 1 :]
                if d in doms:
                    doms[d] += 1
                else:
                    doms[names.setdefault(d, d) if len(names) < _DOMAINS_MAX else d] = 1
        else:
            scan._follow(line[20 : r - 4], s, set())
            if watch:
                watch = False
                if _rest_by_lines(scan, data, le, fed):
                    return
    scan.lines += data.count(b"\n") + 1 - fed


def _rest_by_lines(scan: _Scan, data: bytes, le: int, fed: int) -> bool:
    """A message is followed now (an arrival without recipients after its subject). If an
    arrival without `for` is still to come, the chunk would have been read line by line from
    its start (pick): read the lines after this one so, and say so. Before this line no
    message was followed, so no line skipped there mattered."""
    if le >= len(data) or pick(data[le:]) is not None:
        return False
    scan.feed(data[le + 1 :].split(b"\n"))
    scan.lines += data.count(b"\n", 0, le) + 1 - fed
    return True


def _no_tls(line: bytes, r: int, a: int) -> bool:
    """No `X=` before A=: TLS only if the protocol says so (`P=esmtpsa`)."""
    p = line.find(b" P=", r, a)
    if p < 0:
        return True
    proto = line[p + 3 : line.find(b" ", p + 3)]
    tls = _TLS.get(proto)
    if tls is None:
        tls = protocol_has_tls(proto)
        if len(_TLS) < 1000:
            _TLS[proto] = tls
    return not tls


def _minute(key: bytes) -> int:
    if len(_MINUTES) > 100_000:
        _MINUTES.clear()
    m = _MINUTES[key[:16]] = key_seconds(key[:16] + b":00")
    return m


def seconds(key: bytes) -> int:
    """key_seconds of a checked key, the date and clock parsed once per minute."""
    m = _MINUTES.get(key[:16])
    if m is None:
        if len(_MINUTES) > 100_000:
            _MINUTES.clear()
        m = _MINUTES[key[:16]] = key_seconds(key[:16] + b":00")
    return m + _SECS[key[17:19]]


def _user(scan: _Scan, auth: bytes, line: bytes, r: int) -> str | None:
    """The login name of an `A=` value (`authenticator:name`), decoded once; on the way, the
    domains a login and its envelope sender bring to the inferred local domains."""
    user = scan.user_names.get(auth)
    if user is not None:
        return user
    c = auth.find(b":")
    if c < 0:
        return None
    user = auth[c + 1 :].decode("utf-8", "replace").lower()
    cached = len(scan.user_names) < _NAMES_MAX
    if cached:
        scan.user_names[auth] = user
    if scan.infer:
        # The hoster's own domains: those its users log in with and send from.
        sender = line[r : line.find(b" ", r)].decode("utf-8", "replace")
        doms = (user.rpartition("@")[2], sender.rpartition("@")[2].lower())
        scan.inferred_local.update(doms)
        if cached:
            scan.first_domains[auth] = doms
    return user


def arrival(
    scan: _Scan, line: bytes, r: int, eid: bytes | None, key: bytes, in_window: bool, a: int
) -> None:
    """An accepted submission `<= sender ... A=auth:user ...`: r is where the sender starts,
    a where ` A=` is. Before the window only the client address counts (the baseline)."""
    # Exim's field order: sender H= I= P= L X= CV= DN= A= K S= id= T="..." from for
    h = line.find(b" H=", r, a)
    if h < 0:
        ip = None
    else:
        b = line.find(b" [", h, a)
        ip = line[b + 2 : line.find(b"]", b)] if b > 0 else None
    e = line.find(b" ", a + 3)
    auth = line[a + 3 : e] if e > 0 else line[a + 3 :]
    if not in_window:
        user = _user(scan, auth, line, r)
        if user is not None and ip:
            ips = scan.baseline_ips.get(user)
            if ips is None:
                ips = scan.baseline_ips[user] = set()
            ips.add(ip)
        return
    s = scan.by_auth.get(auth)
    if s is None:
        user = _user(scan, auth, line, r)
        if user is None:
            return
        s = scan.users.get(user) or scan.stats(user)
        if len(scan.by_auth) < _NAMES_MAX:
            scan.by_auth[auth] = s
    s.accepted += 1
    if ip:
        ips = s.ips
        ips[ip] = ips.get(ip, 0) + 1
    if line.find(b" X=", r, a) < 0:
        p = line.find(b" P=", r, a)
        if p < 0:
            s.no_tls += 1
        else:
            proto = line[p + 3 : line.find(b" ", p + 3)]
            tls = _TLS.get(proto)
            if tls is None:
                tls = protocol_has_tls(proto)
                if len(_TLS) < 1000:
                    _TLS[proto] = tls
            if not tls:
                s.no_tls += 1
    s._submitted(seconds(key))
    # recipients: after the subject if there is one (a subject may contain " for ")
    start = e if e > 0 else a
    t = line.find(b' T="', start)
    if t >= 0:
        start = line.find(b'"', t + 4)
        if start < 0:
            start = len(line)
        elif start > t + 4 and line[start - 1] == 92:  # an escaped quote inside
            start = quoted_end(line, t + 4)
    f = line.find(b" for ", start)
    if f >= 0:
        rcpts = line[f + 5 :].lower().split()
        s.recipients += len(rcpts)
        doms, names = s.domains, scan.domain_names
        for rc in rcpts:
            d = rc[rc.rfind(b"@") + 1 :]
            if d in doms:
                doms[d] += 1
            else:
                doms[names.setdefault(d, d) if len(names) < _DOMAINS_MAX else d] = 1
    elif eid is not None:
        scan._follow(eid, s, set())
