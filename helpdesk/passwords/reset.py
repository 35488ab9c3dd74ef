"""The password reset: a generated or given password, one version-checked UPDATE, its audit row.

The cleartext only ever passes through: a generated one is returned to the caller once and is
never logged or written to the audit row (docs/passwords.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.mailboxes import Mailbox, password_hash, update_mailbox
from helpdesk.mailcenter.tickets import check_ticket
from helpdesk.passwords.passphrase import generate
from helpdesk.passwords.policy import (
    PasswordSettings,
    check_password,
    customer_details,
    hash_password,
    strength,
)
from helpdesk.passwords.spelling import spell

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from helpdesk.mailcenter.audit import Operator


@dataclass(frozen=True)
class ResetResult:
    """What a reset did. `password` is set only for a generated one, to be shown once."""

    mailbox: Mailbox
    generated: bool
    password: str | None = field(default=None, repr=False)
    spelling: tuple[str, ...] = field(default=(), repr=False)
    score: int = 0
    # What ending the mailbox's open IMAP/POP3 sessions did, once the caller has done it after
    # the commit (helpdesk.logins.kick): the attacker's session must not outlive the reset.
    sessions: Any = None

    def as_json(self) -> dict[str, Any]:
        """The CLI's --json: the password and its spelling only if it was generated."""
        out: dict[str, Any] = {"address": self.mailbox.address}
        if self.generated:
            out["password"] = self.password
            out["spelling"] = list(self.spelling)
        out["must_change_password"] = self.mailbox.must_change_password
        out["password_changed_at"] = (
            self.mailbox.password_changed_at.isoformat() + "Z"
            if self.mailbox.password_changed_at
            else None
        )
        out["score"] = self.score
        if self.sessions is not None:
            out["sessions"] = self.sessions.as_json()
        return out


def reset_password(
    conn: Connection,
    mailbox: Mailbox,
    *,
    settings: PasswordSettings,
    ticket: str | None,
    operator: Operator,
    password: str | None = None,
    force_change: bool | None = None,
    reason: str | None = None,
) -> ResetResult:
    """Set a new password: generated if `password` is None, else the given one if the policy
    allows it. One version-checked UPDATE and its audit row, in the caller's transaction.

    `mailbox` is the one the operator looked at: if it changed since, Conflict, nothing written.
    """
    ticket = check_ticket(ticket)
    details = customer_details(mailbox)
    current = password_hash(conn, mailbox)
    generated = password is None
    if generated:
        password = generate(settings, user_inputs=details, current_hash=current)
        verdict = strength(password, settings, details)
    else:
        verdict = check_password(password, settings, user_inputs=details, current_hash=current)
    hashed = hash_password(password, settings)
    force = settings.force_change if force_change is None else force_change
    now = utcnow()
    updated = update_mailbox(
        conn,
        mailbox,
        {"password_hash": hashed, "password_changed_at": now, "must_change_password": force},
        action="passwd",
        ticket=ticket,
        reason=reason or ("new password generated" if generated else "new password set"),
        operator=operator,
        audit_before={
            "password_changed_at": mailbox.password_changed_at,
            "must_change_password": mailbox.must_change_password,
        },
        audit_after={"password_changed_at": now, "must_change_password": force},
    )
    return ResetResult(
        mailbox=updated,
        generated=generated,
        password=password if generated else None,
        spelling=tuple(spell(password, settings.spelling)) if generated else (),
        score=verdict.score,
    )
