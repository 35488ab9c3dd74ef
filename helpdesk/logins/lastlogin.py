"""The last login without logs: Dovecot's last_login plugin writes, per mailbox and service
(imap, pop3), the time of the last successful login into the table `last_login`.

The shape is Dovecot's, not the helpdesk's: `last_login` is Unix seconds (BIGINT), an exception
to the schema's UTC-datetime convention, and the table is unique on (username, service), which
dict-sql needs for its upsert. The plugin only runs in `protocol imap` and `protocol pop3`
(enabled globally it would also fire on LMTP deliveries and doveadm commands), so SMTP never
appears here: the last SMTP login comes from Exim's `<=` lines.

The table is part of the Mailcenter schema (helpdesk/mailcenter/schema.py; `helpdesk db init`
creates it). A database without it reads as "no data", with a warning, never as an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select

from helpdesk.i18n import M, Text
from helpdesk.mailcenter.schema import last_login

MISSING = M("no last_login table in the database: Dovecot's last logins are not shown")


def _local(seconds: int) -> datetime:
    """Unix seconds as the naive local time the logs use."""
    return datetime.fromtimestamp(seconds, UTC).astimezone().replace(tzinfo=None)


def read_last_login(db: Any, address: str) -> tuple[dict[str, datetime], Text | None]:
    """service -> time of the last login of `address` (naive local time), and a warning."""
    with db.connect() as conn:
        if not inspect(conn).has_table("last_login"):
            return {}, MISSING
        rows = conn.execute(
            select(last_login.c.service, last_login.c.last_login).where(
                last_login.c.username == address.lower()
            )
        ).all()
    out: dict[str, datetime] = {}
    for service, seconds in rows:
        try:
            out[str(service)] = _local(int(seconds))
        except (ValueError, OverflowError, OSError):
            continue
    return out, None


def pop3_users(db: Any, since: datetime) -> tuple[dict[str, datetime], Text | None]:
    """address -> last POP3 login, for every mailbox that used POP3 since `since` (local)."""
    cutoff = int(since.astimezone(UTC).timestamp())
    with db.connect() as conn:
        if not inspect(conn).has_table("last_login"):
            return {}, MISSING
        rows = conn.execute(
            select(last_login.c.username, last_login.c.last_login).where(
                last_login.c.service == "pop3", last_login.c.last_login >= cutoff
            )
        ).all()
    return {str(user).lower(): _local(int(seconds)) for user, seconds in rows}, None


def as_json(found: dict[str, datetime]) -> dict[str, str]:
    """`read_last_login`'s times as --json writes times: UTC, ISO 8601 with a Z."""
    return {
        service: when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for service, when in sorted(found.items())
    }
