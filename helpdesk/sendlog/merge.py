"""The exact merge of two consecutive parts of a read (helpdesk/sendlog/parallel.py: the
parts of one log read by the workers; helpdesk/sendlog/cache.py: the cached files): every total
is a sum, the busiest 5 minutes are found again across the border, failed logins before a
user's first message are handed on, and the guessing addresses keep the names one process
would keep."""

from __future__ import annotations

from array import array
from collections import Counter

from helpdesk.logs.files import ReadState
from helpdesk.sendlog.offenders import (
    _FAILED_ONLY_MAX,
    _GUESS_USERS_MAX,
    _GUESSERS_MAX,
    _LIMITED_MAX,
    LIMIT_RUN_GAP,
    _Scan,
)
from helpdesk.sendlog.report import Buckets, Guesser, UserStats


def merge_states(a: ReadState, b: ReadState) -> None:
    a.too_long += b.too_long
    for path in b.broken or []:
        if path not in (a.broken or []):
            (a.broken if a.broken is not None else []).append(path)
    a.damage.update(b.damage)


def merge_scans(a: _Scan, b: _Scan) -> None:
    """Fold b (the later part) into a (the earlier one), as if one process had read both."""
    a.lines += b.lines
    a.unreadable += b.unreadable
    if a.earliest is None:
        a.earliest = b.earliest
    names = a.domain_names  # one bytes object per domain here too
    for user, sb in b.users.items():
        sa = a.users.get(user)
        if sa is None:
            sb.domains = {names.setdefault(d, d): n for d, n in sb.domains.items()}
            before = a.failed_only.pop(user, None)
            if before:  # failed logins in a, before the first message in b
                ips = Counter(before)
                ips.update(sb.auth_failure_ips)
                sb.auth_failure_ips = ips
                sb.auth_failures += sum(before.values())
            a.users[user] = sb
        else:
            merge_stats(sa, sb, names)
    for user, fails in b.failed_only.items():
        sa = a.users.get(user)
        if sa is not None:
            sa.auth_failures += sum(fails.values())
            sa.auth_failure_ips.update(fails)
        elif user in a.failed_only:
            a.failed_only[user].update(fails)
        elif len(a.failed_only) < _FAILED_ONLY_MAX:
            a.failed_only[user] = fails
    for user, ips in b.baseline_ips.items():
        a.baseline_ips.setdefault(user, set()).update(ips)
    if (
        a.guess_names is not None
        and b.guess_names is not None
        and len(a.guessers) + len(b.guessers) < _GUESSERS_MAX
    ):
        _merge_guessers_exactly(a, b)
    else:
        _merge_guessers(a.guessers, b.guessers)
        a.guess_names = None
    _merge_limit_hits(a.limit_hits, b.limit_hits)
    if a.infer:
        if len(a.first_domains) < 100_000 and len(b.first_domains) < 100_000:
            # the domains of the logins a had not met (each part's own are all in its
            # first_domains below the cap, so this is the union a recount would give)
            for auth, doms in b.first_domains.items():
                if auth not in a.first_domains and len(a.first_domains) < 100_000:
                    a.first_domains[auth] = doms
                    a.inferred_local.update(doms)
        else:
            a.inferred_local |= b.inferred_local


def _merge_limit_hits(a: dict[str, list], b: dict[str, list]) -> None:
    """b's stretch continues a's when it began within the gap after a's last refusal."""
    for user, hb in b.items():
        ha = a.get(user)
        if ha is not None and hb[1] - ha[2] < LIMIT_RUN_GAP:
            ha[0], ha[2] = hb[0], hb[2]
            ha[3] += hb[3]
        elif ha is not None or len(a) < _LIMITED_MAX:
            a[user] = hb


def _merge_guessers_exactly(a: _Scan, b: _Scan) -> None:
    """The guessing addresses as one process counts them: the first 1,000 names an address
    tried are its names, every failure with any later name counts as one more. Each part
    kept all its names in the order first tried, with their failures, so the names of both
    parts in that order decide which are the first 1,000."""
    room = a.guess_room
    for ip, gb in b.guessers.items():
        ga = a.guessers.get(ip)
        nb = b.guess_names.get(ip, {})
        if ga is None:
            a.guessers[ip] = gb
            a.guess_names[ip] = nb
            room -= len(nb)
            continue
        ga.failures += gb.failures
        ga.last = gb.last
        na = a.guess_names.setdefault(ip, {})
        for user, n in nb.items():
            if user in na:
                na[user] += n
            else:
                na[user] = n
                room -= 1
        names = list(na)
        ga.users = set(names[:_GUESS_USERS_MAX])
        ga.more_users = sum(na[user] for user in names[_GUESS_USERS_MAX:])
    a.guess_room = room
    if room < 0:  # later merges keep names as _merge_guessers does
        a.guess_names = None


def _merge_guessers(a: dict[str, Guesser], b: dict[str, Guesser]) -> None:
    for ip, gb in b.items():
        ga = a.get(ip)
        if ga is None and len(a) >= _GUESSERS_MAX:
            ip = "(more addresses)"
            ga = a.get(ip)
        if ga is None:
            a[ip] = gb
            continue
        ga.failures += gb.failures
        ga.last = gb.last
        ga.more_users += gb.more_users
        for user in gb.users:
            if user in ga.users or len(ga.users) < _GUESS_USERS_MAX:
                ga.users.add(user)
            else:
                ga.more_users += 1


def _add(a: dict, b: dict) -> None:
    for k, n in b.items():
        a[k] = a.get(k, 0) + n


def _merge_buckets(a: Buckets, b: Buckets) -> None:
    """b's 5-minute counts added to a's. Parts come in time order, so b's run starts where
    a's ends (or shares its last bucket): the counts are appended as a whole."""
    if b.base is None:
        return
    if a.base is None or b.base < a.base:  # nothing yet, or lines out of order
        a.merge(b)
        return
    counts, more = a.counts, b.counts
    end = a.base + len(counts)
    off = b.base - a.base
    both = min(len(more), max(0, end - b.base))  # buckets of b that a has too
    for i in range(both):
        counts[off + i] += more[i]
    if both < len(more):
        gap = b.base + both - end
        if gap > 0:
            counts.extend(array("I", bytes(4 * gap)))
        counts.extend(more[both:])


def merge_stats(sa: UserStats, sb: UserStats, names: dict | None = None) -> None:
    """One user's totals of two consecutive parts (names: shared domain objects)."""
    sa.accepted += sb.accepted
    sa.rejected += sb.rejected
    sa.rejected_rcpt += sb.rejected_rcpt
    sa.limit_refused += sb.limit_refused
    sa.suspended_tries += sb.suspended_tries
    sa.recipients += sb.recipients
    sa.no_tls += sb.no_tls
    sa.auth_failures += sb.auth_failures
    sa.auth_failure_ips.update(sb.auth_failure_ips)
    doms = sa.domains
    for d, n in sb.domains.items():
        if d in doms:
            doms[d] += n
        else:
            doms[names.setdefault(d, d) if names is not None else d] = n
    _add(sa.ips, sb.ips)
    _merge_buckets(sa.buckets, sb.buckets)
    if sb.first is None:
        return
    # The busiest 5 minutes, in the order one process meets its windows: a's, then those
    # ending in b's first 5 minutes (which may reach back into a), then b's later ones.
    tail = list(sa._recent)
    peak, peak_at = sa.peak_5min, sa.peak_at
    lo = 0
    for i, secs in enumerate(sb._head):
        while lo < len(tail) and secs - tail[lo] >= 300:
            lo += 1
        n = len(tail) - lo + i + 1
        if n > peak:
            peak, peak_at = n, tail[lo] if lo < len(tail) else sb._head[0]
    if sb.peak_5min > peak:
        peak, peak_at = sb.peak_5min, sb.peak_at
    sa.peak_5min, sa.peak_at = peak, peak_at
    last = sb.last
    recent = [x for x in tail if last - x < 300]
    recent.extend(sb._recent)
    sa._recent.clear()
    sa._recent.extend(recent)
    if sa.first is None:
        sa.first, sa._head = sb.first, list(sb._head)
    else:
        sa._head.extend(x for x in sb._head if x - sa.first < 300)
    sa.last = last
