"""The rows Exim reads (table sending_limits): the effective limits of a mailbox, resolved
mailbox -> domain -> global exactly as Exim's query does, and the audited write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from helpdesk.errors import Conflict, NotFound, PolicyError
from helpdesk.i18n import M
from helpdesk.limits.settings import LimitSettings, limit_value, over_limit_value
from helpdesk.mailcenter.audit import Operator, record, utcnow
from helpdesk.mailcenter.mailboxes import Mailbox
from helpdesk.mailcenter.schema import domains, sending_limits
from helpdesk.mailcenter.tickets import check_ticket

KINDS = ("messages_per_hour", "recipients_per_hour", "recipients_per_message")
COLUMNS = (*KINDS, "over_limit")
GLOBAL = "global"


@dataclass(frozen=True)
class Effective:
    """One limit as Exim applies it: the value (0 = none) and the scope it comes from."""

    value: int | str
    source: str  # "mailbox", "domain", "global" or "none"

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


def _row(conn: Connection, scope_key: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(sending_limits).where(sending_limits.c.scope_key == scope_key)
    ).first()
    return dict(row._mapping) if row is not None else None


def mailbox_key(mailbox: Mailbox) -> str:
    return f"mailbox:{mailbox.id}"


def domain_key(domain_id: int) -> str:
    return f"domain:{domain_id}"


def effective_limits(conn: Connection, mailbox: Mailbox) -> dict[str, Effective]:
    """Each limit of the mailbox: its own, else its domain's, else the global one."""
    scopes = [
        ("mailbox", _row(conn, mailbox_key(mailbox))),
        ("domain", _row(conn, domain_key(mailbox.domain_id))),
        ("global", _row(conn, GLOBAL)),
    ]
    out: dict[str, Effective] = {}
    for column in COLUMNS:
        found = next(
            ((name, row[column]) for name, row in scopes if row and row[column] is not None),
            None,
        )
        if found is None:
            out[column] = Effective("refuse" if column == "over_limit" else 0, "none")
        else:
            out[column] = Effective(found[1], found[0])
    return out


def own_limits(conn: Connection, scope_key: str) -> dict[str, Any]:
    row = _row(conn, scope_key)
    return {c: (row or {}).get(c) for c in COLUMNS}


def checked_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` with every value checked: a limit, None (inherit) or an over_limit word."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in COLUMNS:
            raise PolicyError(M("unknown limit {key}", key=key))
        if value is None:
            out[key] = None
        elif key == "over_limit":
            out[key] = over_limit_value(value, key)
        else:
            out[key] = limit_value(value, key, hourly=key.endswith("_per_hour"))
    if not out:
        raise PolicyError(M("no limit given; nothing changed"))
    return out


def set_limits(
    conn: Connection,
    scope_key: str,
    target: str,
    changes: dict[str, Any],
    *,
    ticket: str | None,
    reason: str | None,
    operator: Operator,
    domain_id: int | None = None,
    mailbox_id: int | None = None,
) -> dict[str, Any]:
    """Write the scope's own limits and the audit row in the caller's transaction.

    Returns the scope's own limits after the change. Exim reads them at the next message."""
    ticket = check_ticket(ticket)
    changes = checked_changes(changes)
    row = _row(conn, scope_key)
    before = {c: (row or {}).get(c) for c in COLUMNS}
    after = {**before, **changes}
    if after == before:
        raise PolicyError(M("{target} has these limits already; nothing changed", target=target))
    if row is None:
        conn.execute(
            insert(sending_limits).values(
                scope_key=scope_key,
                domain_id=domain_id,
                mailbox_id=mailbox_id,
                version=1,
                updated_at=utcnow(),
                **changes,
            )
        )
    else:
        result = conn.execute(
            update(sending_limits)
            .where(sending_limits.c.id == row["id"], sending_limits.c.version == row["version"])
            .values(version=row["version"] + 1, updated_at=utcnow(), **changes)
        )
        if result.rowcount != 1:
            raise Conflict(
                M(
                    "the limits of {target} were changed by someone else meanwhile; "
                    "nothing was written",
                    target=target,
                )
            )
    record(
        conn,
        operator=operator,
        action="limits",
        target=target,
        ticket=ticket,
        reason=reason,
        before={k: before[k] for k in changes},
        after=changes,
    )
    return after


def domain_id_of(conn: Connection, name: str) -> int:
    name = name.strip().lower().lstrip("@")
    found = conn.execute(select(domains.c.id).where(domains.c.name == name)).scalar()
    if found is None:
        raise NotFound(M("no domain {domain}", domain=name))
    return found


def ensure_global_default(conn: Connection, settings: LimitSettings) -> bool:
    """Write the global row from `[limits]` if there is none; True when it was written."""
    if _row(conn, GLOBAL) is not None:
        return False
    conn.execute(
        insert(sending_limits).values(
            scope_key=GLOBAL,
            messages_per_hour=settings.messages_per_hour,
            recipients_per_hour=settings.recipients_per_hour,
            recipients_per_message=settings.recipients_per_message,
            over_limit=settings.over_limit,
            version=1,
            updated_at=utcnow(),
        )
    )
    return True
