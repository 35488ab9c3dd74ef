"""The fleet view: every mailbox whose clients still use POP3, log in without TLS, or try
CRAM-MD5 (and the like) — the list a hoster works through after moving to hashed passwords and
forced TLS.

One pass over the logs; memory is bounded by the number of mailboxes found and of client
addresses seen in the last ATTRIBUTION (for attempts without a user name, which belong to the
mailbox that used the same address within ATTRIBUTION before or after).
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk.i18n import M, Text
from helpdesk.logins.events import LoginEvent, json_time
from helpdesk.logins.lastlogin import pop3_users
from helpdesk.logins.reader import open_files, read_logs
from helpdesk.logins.settings import ATTRIBUTION, LoginSettings

FINDINGS: dict[str, Text] = {
    "pop3": M("still uses POP3"),
    "no_tls": M("logs in without TLS"),
    "cram_md5": M("tries CRAM-MD5 or another mechanism not offered"),
}
MAX_ADDRESSES = 50_000
OLD_MECHANISMS = ("CRAM-MD5", "DIGEST-MD5", "NTLM", "GSSAPI", "SCRAM-SHA-1", "SCRAM-SHA-256")


@dataclass
class Finding:
    address: str
    kinds: dict[str, int] = field(default_factory=dict)  # finding -> count
    last: datetime | None = None
    realname: str = ""
    customer_ref: str = ""
    clients: set[str] = field(default_factory=set)

    def add(self, kind: str, event: LoginEvent) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + event.attempts
        self.last = max(self.last or event.time, event.time)
        if event.client and len(self.clients) < 5:
            self.clients.add(event.client)

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "realname": self.realname,
            "customer_ref": self.customer_ref,
            "findings": dict(sorted(self.kinds.items())),
            "findings_text": [FINDINGS[k].english() for k in sorted(self.kinds)],
            "findings_text_message": [FINDINGS[k].as_json() for k in sorted(self.kinds)],
            "clients": sorted(self.clients),
            "last": json_time(self.last),
        }


def _kinds(event: LoginEvent) -> list[str]:
    out = []
    if event.protocol == "pop3" and event.ok:
        out.append("pop3")
    if event.tls is False and event.user:
        out.append("no_tls")
    if event.mechanism in OLD_MECHANISMS:
        out.append("cram_md5")
    return out


class _Collector:
    def __init__(self) -> None:
        self.found: dict[str, Finding] = {}
        # client address -> (user, time) of its latest login as a user
        self.recent: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        # client address -> times of attempts without a user, not yet attributed
        self.pending: OrderedDict[str, list[LoginEvent]] = OrderedDict()
        # findings of login names beyond MAX_ADDRESSES (bots guessing names fill it first)
        self.overflow = 0

    def _finding(self, user: str) -> Finding | None:
        found = self.found.get(user)
        if found is None:
            if len(self.found) >= MAX_ADDRESSES:
                self.overflow += 1
                return None
            found = self.found[user] = Finding(user)
        return found

    def keep(self, event: LoginEvent) -> bool:
        """Called for every event while reading; keeps nothing itself (returns False)."""
        user = event.user.lower()
        if user:
            if "@" not in user:
                return False
            self.recent[event.ip] = (user, event.time)
            self.recent.move_to_end(event.ip)
            self._trim(event.time)
            for waiting in self.pending.pop(event.ip, []):
                if event.time - waiting.time <= ATTRIBUTION:
                    self._add(user, waiting)
            self._add(user, event)
        elif event.mechanism in OLD_MECHANISMS:
            seen = self.recent.get(event.ip)
            if seen is not None and event.time - seen[1] <= ATTRIBUTION:
                self._add(seen[0], event)
            else:
                self.pending.setdefault(event.ip, []).append(event)
                if len(self.pending[event.ip]) > 20:
                    del self.pending[event.ip][0]
        return False

    def _add(self, user: str, event: LoginEvent) -> None:
        kinds = _kinds(event)
        if kinds:
            finding = self._finding(user)
            if finding is not None:
                for kind in kinds:
                    finding.add(kind, event)

    def _trim(self, now: datetime) -> None:
        limit = now - ATTRIBUTION - timedelta(minutes=1)
        while self.recent and next(iter(self.recent.values()))[1] < limit:
            self.recent.popitem(last=False)
        while self.pending and self.pending[next(iter(self.pending))][-1].time < limit:
            self.pending.popitem(last=False)
        while len(self.recent) > MAX_ADDRESSES:
            self.recent.popitem(last=False)


@dataclass
class Fleet:
    start: datetime
    end: datetime
    findings: list[Finding]
    warnings: list[Text]
    lines: int

    def as_json(self) -> dict[str, Any]:
        return {
            "start": json_time(self.start),
            "end": json_time(self.end),
            "mailboxes": [f.as_json() for f in self.findings],
            "warnings": [w.english() for w in self.warnings],
            "warnings_message": [w.as_json() for w in self.warnings],
            "lines": self.lines,
        }

    def csv(self) -> str:
        """address, real name, customer number, finding (one row per finding)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["address", "realname", "customer_ref", "finding", "count", "last"])
        for f in self.findings:
            for kind, count in sorted(f.kinds.items()):
                last = json_time(f.last) or ""
                writer.writerow(
                    [_cell(f.address), _cell(f.realname), _cell(f.customer_ref), kind, count, last]
                )
        return out.getvalue()


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts like a formula: quote it as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def fleet(
    settings: LoginSettings,
    db: Any,
    *,
    since: timedelta | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Fleet:
    """Mailboxes of the database with a finding in the window, worst (most kinds) first."""
    from sqlalchemy import select

    from helpdesk.mailcenter.schema import mailboxes

    end = datetime.now().replace(microsecond=0)
    start = end - (since or settings.since)
    dovecot, warn_d = open_files(settings.dovecot_paths, M("Dovecot log"))
    exim, warn_e = open_files(settings.exim_paths, M("Exim mainlog"))
    collector = _Collector()
    result = read_logs(
        dovecot,
        exim,
        start=start,
        keep=collector.keep,
        journal=settings.journal,
        progress=progress,
        cancelled=cancelled,
    )
    # Dovecot's last_login table knows POP3 users whose logins the logs no longer hold.
    pop3, missing = pop3_users(db, start)
    for user, when in pop3.items():
        f = collector.found.get(user) or collector.found.setdefault(user, Finding(user))
        if "pop3" not in f.kinds:
            f.kinds["pop3"] = 1
        f.last = max(f.last or when, when)
    found = {a: f for a, f in collector.found.items() if f.kinds}
    names = list(found)
    known: set[str] = set()
    with db.connect() as conn:
        for i in range(0, len(names), 500):
            query = select(
                mailboxes.c.address, mailboxes.c.realname, mailboxes.c.customer_ref
            ).where(mailboxes.c.address.in_(names[i : i + 500]))
            for row in conn.execute(query):
                f = found[row.address]
                f.realname, f.customer_ref = row.realname or "", row.customer_ref or ""
                known.add(row.address)
    ranked = sorted(
        (f for a, f in found.items() if a in known),
        key=lambda f: (-len(f.kinds), -sum(f.kinds.values()), f.address),
    )
    warnings = [w for w in (warn_d, warn_e, missing) if w is not None] + result.warnings
    if collector.overflow:
        warnings.append(
            M(
                "more than {limit} login names had a finding: later ones were not counted "
                "(a shorter --since reads fewer)",
                limit=MAX_ADDRESSES,
            )
        )
    return Fleet(start, end, ranked, warnings, result.lines)
