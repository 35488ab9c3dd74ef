"""Mailboxes: reading one, creating one, and the version-checked write every action uses."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from helpdesk.errors import Conflict, NotFound, PolicyError
from helpdesk.i18n import M
from helpdesk.mailcenter.audit import Operator, record, utcnow
from helpdesk.mailcenter.change_marks import start_changes
from helpdesk.mailcenter.folding import name_words, search_name
from helpdesk.mailcenter.schema import aliases, domains, forwards, mailbox_name_words, mailboxes
from helpdesk.mailcenter.tickets import check_ticket


@dataclass(frozen=True)
class Mailbox:
    """Everything about one mailbox except its password hash, which stays in the database."""

    id: int
    domain_id: int
    domain: str
    local_part: str
    address: str
    realname: str
    password_changed_at: datetime | None
    must_change_password: bool
    enabled: bool
    smtp_enabled: bool
    quota_mb: int
    customer_ref: str
    version: int
    created_at: datetime | None
    domain_enabled: bool = True

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() + "Z" if isinstance(value, datetime) else value
        return out

    @property
    def status(self) -> str:
        """One word for lists: what the customer would notice."""
        if not self.enabled:
            return "disabled"
        if not self.smtp_enabled:
            return "suspended"
        if self.must_change_password:
            return "must-change"
        return "active"


_COLUMNS = [
    mailboxes.c.id,
    mailboxes.c.domain_id,
    domains.c.name.label("domain"),
    mailboxes.c.local_part,
    mailboxes.c.address,
    mailboxes.c.realname,
    mailboxes.c.password_changed_at,
    mailboxes.c.must_change_password,
    mailboxes.c.enabled,
    mailboxes.c.smtp_enabled,
    mailboxes.c.quota_mb,
    mailboxes.c.customer_ref,
    mailboxes.c.version,
    mailboxes.c.created_at,
    domains.c.enabled.label("domain_enabled"),
]


def mailbox_query():
    return select(*_COLUMNS).join(domains, domains.c.id == mailboxes.c.domain_id)


def from_row(row: Row) -> Mailbox:
    m = row._mapping
    return Mailbox(
        id=m["id"],
        domain_id=m["domain_id"],
        domain=m["domain"],
        local_part=m["local_part"],
        address=m["address"],
        realname=m["realname"],
        password_changed_at=m["password_changed_at"],
        must_change_password=bool(m["must_change_password"]),
        enabled=bool(m["enabled"]),
        smtp_enabled=bool(m["smtp_enabled"]),
        quota_mb=m["quota_mb"],
        customer_ref=m["customer_ref"],
        version=m["version"],
        created_at=m["created_at"],
        domain_enabled=bool(m["domain_enabled"]),
    )


def normalize_address(address: str) -> str:
    address = address.strip().lower()
    if address.count("@") != 1 or address.startswith("@") or address.endswith("@"):
        raise PolicyError(M("not a mail address: {address!r}", address=address))
    return address


def get_mailbox(conn: Connection, address: str) -> Mailbox:
    address = address.strip().lower()
    row = conn.execute(mailbox_query().where(mailboxes.c.address == address)).first()
    if row is None:
        raise NotFound(M("no mailbox {address}", address=address))
    return from_row(row)


def get_mailboxes_by_id(conn: Connection, ids: list[int]) -> dict[int, Mailbox]:
    if not ids:
        return {}
    rows = conn.execute(mailbox_query().where(mailboxes.c.id.in_(ids)))
    return {row.id: from_row(row) for row in rows}


def password_hash(conn: Connection, mailbox: Mailbox) -> str:
    """The stored hash, for verifying a password against it; never shown."""
    return conn.execute(
        select(mailboxes.c.password_hash).where(mailboxes.c.id == mailbox.id)
    ).scalar_one()


def create_domain(conn: Connection, name: str, *, enabled: bool = True) -> int:
    name = name.strip().lower()
    existing = conn.execute(select(domains.c.id).where(domains.c.name == name)).scalar()
    if existing is not None:
        return existing
    return conn.execute(
        insert(domains).values(name=name, enabled=enabled, created_at=utcnow())
    ).inserted_primary_key[0]


def create_mailbox(
    conn: Connection,
    address: str,
    *,
    realname: str = "",
    password_hash: str = "",
    enabled: bool = True,
    smtp_enabled: bool = True,
    must_change_password: bool = False,
    quota_mb: int = 1024,
    customer_ref: str = "",
    password_changed_at: datetime | None = None,
) -> int:
    """Create the mailbox (and its domain if new); returns its id."""
    address = normalize_address(address)
    local_part, domain = address.split("@")
    domain_id = create_domain(conn, domain)
    mailbox_id = conn.execute(
        insert(mailboxes).values(
            domain_id=domain_id,
            local_part=local_part,
            address=address,
            realname=realname,
            search_name=search_name(realname),
            password_hash=password_hash,
            password_changed_at=password_changed_at or (utcnow() if password_hash else None),
            must_change_password=must_change_password,
            enabled=enabled,
            smtp_enabled=smtp_enabled,
            quota_mb=quota_mb,
            customer_ref=customer_ref,
            version=1,
            created_at=utcnow(),
        )
    ).inserted_primary_key[0]
    _index_name(conn, mailbox_id, realname)
    return mailbox_id


def _index_name(conn: Connection, mailbox_id: int, realname: str) -> None:
    conn.execute(delete(mailbox_name_words).where(mailbox_name_words.c.mailbox_id == mailbox_id))
    words = [{"word": w, "mailbox_id": mailbox_id} for w in name_words(realname)]
    if words:
        conn.execute(insert(mailbox_name_words), words)


def update_mailbox(
    conn: Connection,
    mailbox: Mailbox,
    changes: dict[str, Any],
    *,
    action: str,
    ticket: str | None,
    reason: str | None = None,
    operator: Operator,
    audit_before: dict[str, Any] | None = None,
    audit_after: dict[str, Any] | None = None,
) -> Mailbox:
    """Apply `changes` only if nobody changed the mailbox since `mailbox` was read.

    The audit row is written in the same transaction (the caller's `conn` from `db.begin()`),
    so a failure leaves neither. `audit_before`/`audit_after` replace the recorded values
    where the changed columns must not be recorded as they are (a password hash).
    """
    ticket = check_ticket(ticket)
    start_changes(conn)
    values = dict(changes)
    if "realname" in values:
        values["search_name"] = search_name(values["realname"])
    values["version"] = mailbox.version + 1
    result = conn.execute(
        update(mailboxes)
        .where(and_(mailboxes.c.id == mailbox.id, mailboxes.c.version == mailbox.version))
        .values(**values)
    )
    if result.rowcount != 1:
        raise Conflict(
            M(
                "{address} was changed by someone else since you opened it; "
                "nothing was written. Reload and try again.",
                address=mailbox.address,
            )
        )
    if "realname" in changes:
        _index_name(conn, mailbox.id, changes["realname"])
    before = audit_before if audit_before is not None else _old_values(mailbox, changes)
    after = audit_after if audit_after is not None else dict(changes)
    record(
        conn,
        operator=operator,
        action=action,
        target=mailbox.address,
        ticket=ticket,
        reason=reason,
        before=before,
        after=after,
    )
    return get_mailbox(conn, mailbox.address)


def _old_values(mailbox: Mailbox, changes: dict[str, Any]) -> dict[str, Any]:
    return {key: getattr(mailbox, key, None) for key in changes}


def set_sending(
    conn: Connection,
    mailbox: Mailbox,
    allowed: bool,
    *,
    ticket: str | None,
    reason: str | None,
    operator: Operator,
) -> Mailbox:
    """Suspend (allowed=False) or reinstate sending; mail keeps arriving either way."""
    ticket = check_ticket(ticket)
    if mailbox.smtp_enabled == allowed:
        if allowed:
            raise PolicyError(
                M("{address} is allowed to send; nothing changed", address=mailbox.address)
            )
        raise PolicyError(
            M("{address} is already suspended; nothing changed", address=mailbox.address)
        )
    return update_mailbox(
        conn,
        mailbox,
        {"smtp_enabled": allowed},
        action="reinstate" if allowed else "suspend",
        ticket=ticket,
        reason=reason,
        operator=operator,
    )


def mailbox_aliases(conn: Connection, mailbox: Mailbox) -> list[dict[str, Any]]:
    """Aliases that deliver to this mailbox, and aliases of its own address."""
    rows = conn.execute(
        select(aliases.c.address, aliases.c.target, aliases.c.enabled)
        .where(or_(aliases.c.target == mailbox.address, aliases.c.address == mailbox.address))
        .order_by(aliases.c.address)
    )
    return [dict(row._mapping) for row in rows]


def mailbox_forwards(conn: Connection, mailbox: Mailbox) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            forwards.c.target, forwards.c.keep_copy, forwards.c.starts_at, forwards.c.ends_at
        ).where(forwards.c.mailbox_id == mailbox.id)
    )
    return [dict(row._mapping) for row in rows]
