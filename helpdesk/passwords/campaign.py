"""Password campaigns: make every customer whose password is old set a new one.

A campaign is recorded in the audit log alone, one row per mailbox it flagged:
action `passwd.campaign`, reason `password campaign <ID>: password set before <DATE>`,
after `{"must_change_password": true, "campaign": "<ID>"}`. Its progress is how many of
those mailboxes have had a password set since their row was written (docs/passwords.md).

Applying runs in batches of `campaign_batch` mailboxes, one transaction each: a campaign over
thousands of mailboxes never holds their rows locked for long, and one interrupted midway
keeps the batches already committed (running it again flags the rest, under a new ID).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, or_, select

from helpdesk.errors import Conflict, HelpdeskError
from helpdesk.i18n import M
from helpdesk.mailcenter.schema import audit_log, domains, mailboxes
from helpdesk.mailcenter.tickets import check_ticket

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from helpdesk.mailcenter.audit import Operator
    from helpdesk.mailcenter.db import Database
    from helpdesk.mailcenter.mailboxes import Mailbox
    from helpdesk.passwords.policy import PasswordSettings

ACTION = "passwd.campaign"
_CAMPAIGN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")
_REASON = re.compile(r"^password campaign (\S+): password set before (\S+)$")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def parse_before(value: str | None, settings: PasswordSettings, now: datetime) -> datetime:
    """A date (2024-01-01), a date and time, or an age (365d: set more than 365 days ago)."""
    from helpdesk.durations import parse_duration

    text = (value or settings.campaign_age).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?Z?", text):
            return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=None)
        return now - parse_duration(text)
    except (HelpdeskError, ValueError, OverflowError):
        # 2024-13-45, or an age that reaches before year 1.
        raise HelpdeskError(
            M("--before: not a date or an age: {text!r} (use 2024-01-01 or 365d)", text=text)
        ) from None


@dataclass(frozen=True)
class Candidate:
    id: int
    address: str
    password_changed_at: datetime | None
    must_change_password: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "password_changed_at": _iso(self.password_changed_at),
            "must_change_password": self.must_change_password,
        }


def _old_password(before: datetime):
    return or_(mailboxes.c.password_changed_at.is_(None), mailboxes.c.password_changed_at < before)


def candidates(
    conn: Connection, *, before: datetime, domain: str | None = None
) -> Iterator[Candidate]:
    """Mailboxes whose password was set before `before` (or never), by address."""
    query = (
        select(
            mailboxes.c.id,
            mailboxes.c.address,
            mailboxes.c.password_changed_at,
            mailboxes.c.must_change_password,
        )
        .where(_old_password(before))
        .order_by(mailboxes.c.address)
    )
    if domain:
        query = query.join(domains, domains.c.id == mailboxes.c.domain_id).where(
            domains.c.name == domain.strip().lower()
        )
    for row in conn.execute(query):
        yield Candidate(
            row.id, row.address, row.password_changed_at, bool(row.must_change_password)
        )


@dataclass(frozen=True)
class Applied:
    campaign: str
    before: datetime
    domain: str | None
    flagged: int
    already_flagged: int
    changed_meanwhile: int

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "before": _iso(self.before),
            "domain": self.domain,
            "flagged": self.flagged,
            "already_flagged": self.already_flagged,
            "changed_meanwhile": self.changed_meanwhile,
        }


def new_campaign_id(now: datetime) -> str:
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def apply_campaign(
    db: Database,
    *,
    before: datetime,
    settings: PasswordSettings,
    ticket: str | None,
    operator: Operator,
    domain: str | None = None,
    now: datetime | None = None,
) -> Applied:
    """Set must_change_password on every candidate, with one audit row each."""
    from helpdesk.mailcenter.audit import utcnow

    ticket = check_ticket(ticket)
    now = now or utcnow()
    campaign = new_campaign_id(now)
    # The audit row keeps its reason as written.
    reason = (
        f"password campaign {campaign}: password set before {before:%Y-%m-%d}"  # i18n: not text
    )
    with db.connect() as conn:
        todo = [
            c.id
            for c in candidates(conn, before=before, domain=domain)
            if not c.must_change_password
        ]
        already = sum(
            1 for c in candidates(conn, before=before, domain=domain) if c.must_change_password
        )
    flagged = meanwhile = 0
    for start in range(0, len(todo), settings.campaign_batch):
        batch = todo[start : start + settings.campaign_batch]
        with db.begin() as conn:
            done, skipped = _flag_batch(conn, batch, before, campaign, reason, ticket, operator)
        flagged += done
        meanwhile += skipped
    return Applied(campaign, before, domain, flagged, already, meanwhile)


def _flag_batch(
    conn: Connection,
    ids: list[int],
    before: datetime,
    campaign: str,
    reason: str,
    ticket: str,
    operator: Operator,
) -> tuple[int, int]:
    from helpdesk.mailcenter.mailboxes import get_mailbox, get_mailboxes_by_id, update_mailbox

    done = skipped = 0
    for mailbox in get_mailboxes_by_id(conn, ids).values():
        for attempt in range(2):
            if not _still_due(mailbox, before):
                skipped += 1
                break
            try:
                update_mailbox(
                    conn,
                    mailbox,
                    {"must_change_password": True},
                    action=ACTION,
                    ticket=ticket,
                    reason=reason,
                    operator=operator,
                    audit_before={
                        "must_change_password": mailbox.must_change_password,
                        "password_changed_at": mailbox.password_changed_at,
                    },
                    audit_after={"must_change_password": True, "campaign": campaign},
                )
                done += 1
                break
            except Conflict:
                # changed by someone else between our read and write: look again once
                if attempt:
                    skipped += 1
                mailbox = get_mailbox(conn, mailbox.address)
    return done, skipped


def _still_due(mailbox: Mailbox, before: datetime) -> bool:
    if mailbox.must_change_password:
        return False
    return mailbox.password_changed_at is None or mailbox.password_changed_at < before


@dataclass(frozen=True)
class Progress:
    campaign: str
    before: str
    started_at: datetime
    operator: str
    ticket: str | None
    flagged: int
    changed: int

    @property
    def percent(self) -> float:
        return 100.0 * self.changed / self.flagged if self.flagged else 100.0

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "before": self.before,
            "started_at": _iso(self.started_at),
            "operator": self.operator,
            "ticket": self.ticket,
            "flagged": self.flagged,
            "changed": self.changed,
            "pending": self.flagged - self.changed,
            "percent": round(self.percent, 1),
        }


def progress(conn: Connection, campaign: str | None = None) -> list[Progress]:
    """Every campaign (or one), newest first: how many of its mailboxes set a new password."""
    changed = func.sum(case((mailboxes.c.password_changed_at > audit_log.c.at, 1), else_=0))
    query = (
        select(
            audit_log.c.reason,
            func.min(audit_log.c.at).label("started_at"),
            func.min(audit_log.c.operator).label("operator"),
            func.min(audit_log.c.ticket).label("ticket"),
            func.count().label("flagged"),
            changed.label("changed"),
        )
        .select_from(audit_log.join(mailboxes, mailboxes.c.address == audit_log.c.target))
        .where(audit_log.c.action == ACTION)
        .group_by(audit_log.c.reason)
        .order_by(func.min(audit_log.c.at).desc())
    )
    if campaign:
        if not _CAMPAIGN_ID.fullmatch(campaign):
            raise HelpdeskError(
                M("not a campaign ID: {campaign!r} (like 20261127-220501-3fa2)", campaign=campaign)
            )
        query = query.where(audit_log.c.reason.like(f"password campaign {campaign}:%"))
    out = []
    for row in conn.execute(query):
        m = _REASON.match(row.reason or "")
        if not m:
            continue
        out.append(
            Progress(
                campaign=m.group(1),
                before=m.group(2),
                started_at=row.started_at,
                operator=row.operator,
                ticket=row.ticket,
                flagged=int(row.flagged),
                changed=int(row.changed or 0),
            )
        )
    return out
