"""One mailbox's login timeline: its events, the attempts attributed to it, groups by client
program, the last success per protocol, and the diagnoses.

Which events belong to the mailbox:
- its own: the user name is the address (any case);
- near misses: a failed login as its local part, its real name or the address with a typo in
  the domain, from a client address the mailbox itself used in the window, and the address in
  other letter case refused as an unknown user, from any address ("the login name must be the
  full address");
- attributed: an attempt without a user name (a refused mechanism, a plaintext login refused
  before the name was sent) from a client address that logged in or failed as the mailbox
  within ATTRIBUTION before or after it ("probably this mailbox's device (same address)").
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from helpdesk.i18n import M, Mn, Text
from helpdesk.logins.events import LoginEvent, json_time
from helpdesk.logins.reader import ReadResult, open_files, read_logs
from helpdesk.logins.settings import ATTRIBUTION, LoginSettings

if TYPE_CHECKING:
    from helpdesk.logins.diagnose import Diagnosis
    from helpdesk.mailcenter.mailboxes import Mailbox

MAX_USERLESS = 50_000
MERGE_WITHIN = timedelta(hours=1)
# fail2ban's default findtime: the failures this long before a ban are the ones that caused it
BAN_FINDTIME = timedelta(minutes=10)


def _distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance, stopping once it is above limit (domains are short)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@dataclass
class Target:
    """What a user name is compared with."""

    address: str
    local: str
    domain: str
    realname: str = ""

    @classmethod
    def of(cls, address: str, realname: str = "") -> Target:
        address = address.strip().lower()
        local, _, domain = address.partition("@")
        return cls(address, local, domain, realname.strip().lower())

    def own(self, user: str) -> bool:
        return user.lower() == self.address

    def near_miss(self, user: str) -> bool:
        name = user.strip().lower()
        if not name or name == self.address:
            return False
        if name == self.local or (self.realname and name == self.realname):
            return True
        local, at, domain = name.partition("@")
        return bool(at) and local == self.local and _distance(domain, self.domain) <= 2


@dataclass
class Group:
    client: str
    protocol: str
    mechanism: str
    ok: int = 0
    failed: int = 0
    ips: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    tls: set[bool | None] = field(default_factory=set)

    def add(self, event: LoginEvent) -> None:
        n = event.attempts
        if event.ok:
            self.ok += n
        else:
            self.failed += n
        self.ips[event.ip] += n
        self.first = min(self.first or event.time, event.time)
        self.last = max(self.last or event.time, event.last or event.time)
        self.tls.add(event.tls)

    def as_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "protocol": self.protocol,
            "mechanism": self.mechanism,
            "ok": self.ok,
            "failed": self.failed,
            "addresses": dict(self.ips.most_common()),
            "first": json_time(self.first),
            "last": json_time(self.last),
            "tls": sorted({"yes" if t else "no" if t is False else "unknown" for t in self.tls}),
        }


@dataclass
class Timeline:
    address: str
    start: datetime
    end: datetime
    events: list[LoginEvent]
    groups: list[Group]
    last_success: dict[str, LoginEvent]
    diagnoses: list[Diagnosis] = field(default_factory=list)
    warnings: list[Text] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    lines: int = 0
    # Dovecot's last_login table: service -> last login (no SMTP: the plugin never sees it)
    last_login: dict[str, datetime] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "start": json_time(self.start),
            "end": json_time(self.end),
            "events": [e.as_json() for e in self.events],
            "groups": [g.as_json() for g in self.groups],
            "last_success": {p: e.as_json() for p, e in self.last_success.items()},
            "diagnoses": [d.as_json() for d in self.diagnoses],
            "warnings": [w.english() for w in self.warnings],
            "warnings_message": [w.as_json() for w in self.warnings],
            "files": self.files,
            "lines": self.lines,
            "last_login": {k: json_time(v) for k, v in sorted(self.last_login.items())},
        }


def _alike(a: LoginEvent, b: LoginEvent) -> bool:
    return (
        a.ok == b.ok
        and a.protocol == b.protocol
        and a.ip == b.ip
        and a.reason == b.reason
        and a.client == b.client
        and a.mechanism == b.mechanism
        and a.user == b.user
        and a.tls == b.tls
        and a.match == b.match
        and (b.time - (a.last or a.time)) <= MERGE_WITHIN
    )


def merge(events: list[LoginEvent]) -> list[LoginEvent]:
    """Alike events close together as one, with a count (a phone sending mail all day)."""
    out: list[LoginEvent] = []
    for event in events:
        if out and _alike(out[-1], event):
            out[-1].attempts += event.attempts
            out[-1].last = event.last or event.time
        else:
            out.append(event)
    return out


def _case_only(event: LoginEvent, target: Target) -> bool:
    """A login refused as an unknown user whose name is the address in other letter case: a
    server without `auth_username_format = %Lu` compares names exactly."""
    return not event.ok and event.reason == "unknown_user" and event.user != target.address


def select(result: ReadResult, target: Target) -> list[LoginEvent]:
    """The mailbox's own events, near misses and attributed attempts, oldest first."""
    own = [e for e in result.events if target.own(e.user) and not _case_only(e, target)]
    times: dict[str, list[datetime]] = {}
    for e in own:
        times.setdefault(e.ip, []).append(e.time)
    chosen = list(own)
    for e in result.events:
        # A name in other letter case is the mailbox's whatever the address; a local part or
        # real name may be someone else's, so those need an address the mailbox used.
        if e.user and (
            _case_only(e, target) or (not target.own(e.user) and e.ip in times and not e.ok)
        ):
            e.match = "near_miss"
            chosen.append(e)
        elif not e.user and any(abs(t - e.time) <= ATTRIBUTION for t in times.get(e.ip, ())):
            e.match = "attributed"
            chosen.append(e)
    chosen.sort(key=lambda e: e.time)
    return chosen


def groups_of(events: list[LoginEvent]) -> list[Group]:
    found: dict[tuple[str, str, str], Group] = {}
    for e in events:
        key = e.group_key
        if key not in found:
            found[key] = Group(*key)
        found[key].add(e)
    return sorted(found.values(), key=lambda g: g.last or datetime.min, reverse=True)


def last_success(events: list[LoginEvent]) -> dict[str, LoginEvent]:
    out: dict[str, LoginEvent] = {}
    for e in events:
        if e.ok and e.match == "user":
            out[e.protocol] = e
    return out


class Keeper:
    """Decides while reading which events to keep (memory follows what the mailbox needs, not
    the size of the logs): its own events and near misses always; an attempt without a user
    name at once when the mailbox was seen from its address within ATTRIBUTION before it, else
    among the newest MAX_USERLESS of its log (a busy server sees many such attempts from bots,
    and the newest matter for "I can't log in now"). `select` decides on them in the end."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.seen: dict[str, list[datetime]] = {}  # client address -> the mailbox's times
        self.userless: dict[str, deque[LoginEvent]] = {}  # per source, the newest
        self.dropped = 0

    def __call__(self, event: LoginEvent) -> bool:
        if event.user:
            if self.target.own(event.user):
                insort(self.seen.setdefault(event.ip, []), event.time)
                return True
            return not event.ok and self.target.near_miss(event.user)
        times = self.seen.get(event.ip, ())
        at = bisect_left(times, event.time - ATTRIBUTION)
        if at < len(times) and times[at] <= event.time + ATTRIBUTION:
            return True
        waiting = self.userless.setdefault(event.source, deque(maxlen=MAX_USERLESS))
        if len(waiting) == MAX_USERLESS:
            self.dropped += 1
        waiting.append(event)
        return False

    def held(self) -> list[LoginEvent]:
        return [e for waiting in self.userless.values() for e in waiting]


def build(
    settings: LoginSettings,
    address: str,
    *,
    mailbox: Mailbox | None = None,
    since: timedelta | None = None,
    bans: dict[str, datetime] | None = None,
    last_login: dict[str, datetime] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Timeline:
    """The timeline of `address` over the window (settings.since unless given)."""
    from helpdesk.logins.diagnose import diagnose

    end = datetime.now().replace(microsecond=0)
    start = end - (since or settings.since)
    target = Target.of(address, mailbox.realname if mailbox is not None else "")
    dovecot, warn_d = open_files(settings.dovecot_paths, M("Dovecot log"))
    exim, warn_e = open_files(settings.exim_paths, M("Exim mainlog"))
    keep = Keeper(target)
    result = read_logs(
        dovecot,
        exim,
        start=start,
        keep=keep,
        journal=settings.journal,
        progress=progress,
        cancelled=cancelled,
    )
    result.events.extend(keep.held())
    result.events.sort(key=lambda e: e.time)
    if keep.dropped:
        result.warnings.append(
            Mn(
                "{n} older attempt without a user name was not looked at (only the newest "
                "{limit} of each log)",
                "{n} older attempts without a user name were not looked at (only the newest "
                "{limit} of each log)",
                keep.dropped,
                limit=MAX_USERLESS,
            )
        )
    events = select(result, target)
    disabled = mailbox is not None and not (mailbox.enabled and mailbox.domain_enabled)
    for e in events:
        if (
            disabled
            and e.match == "user"
            and e.reason in ("unknown_user", "wrong_password_or_user")
        ):
            # The server's query finds no enabled mailbox: it logs "unknown user", but the
            # customer typed the right name.
            e.reason = "login_disabled"
        banned_at = (bans or {}).get(e.ip)
        # The failures that led to the ban: those of fail2ban's findtime before it (and a
        # minute after, for the lines it had not read yet when it banned).
        if (
            banned_at is not None
            and not e.ok
            and banned_at - BAN_FINDTIME <= e.time <= banned_at + timedelta(minutes=1)
        ):
            e.banned = True
    events = merge(events)
    timeline = Timeline(
        address=target.address,
        start=start,
        end=end,
        events=events,
        groups=groups_of(events),
        last_success=last_success(events),
        warnings=[w for w in (warn_d, warn_e) if w is not None] + result.warnings,
        files=result.files,
        lines=result.lines,
        last_login=dict(last_login or {}),
    )
    timeline.diagnoses = diagnose(events, timeline.address, mailbox, bans or {})
    return timeline
