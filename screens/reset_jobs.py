"""What the password-reset dialog runs off the event loop: the strength of a typed password, and
the reset itself (the new hash, then the end of the sessions with the old password). A reset
runs inside `Pending`, so that the dialog built again after a language switch still receives
the password it sets: that password is shown once and must not get lost."""

from __future__ import annotations

import threading
from typing import Any

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M
from helpdesk.mailcenter.mailboxes import Mailbox
from helpdesk.passwords.policy import PasswordSettings
from helpdesk.passwords.reset import ResetResult
from helpdesk.passwords.strength import Strength

# A reset still running when the language is switched is waited for this long by the new
# dialog; the reset itself is bounded by the database's own deadlines.
HANDOVER_SECONDS = 120.0


def measure(value: str, settings: PasswordSettings, mailbox: Mailbox) -> Strength:
    from helpdesk.passwords.policy import customer_details, strength

    return strength(value, settings, customer_details(mailbox))


def reset(
    db: Any,
    config: Any,
    mailbox: Mailbox,
    settings: PasswordSettings,
    ticket: str,
    operator: str,
    password: str | None,
    force: bool,
) -> ResetResult:
    from dataclasses import replace

    from helpdesk.logins.kick import kick_and_record
    from helpdesk.passwords.reset import reset_password

    with db.begin() as conn:
        result = reset_password(
            conn,
            mailbox,
            settings=settings,
            ticket=ticket,
            operator=operator,
            password=password,
            force_change=force,
        )
    # After the commit: whoever is logged in with the old password loses the session now.
    sessions = kick_and_record(db, config, mailbox.address, ticket=ticket, operator=operator)
    return replace(result, sessions=sessions)


class Pending:
    """A reset running in a thread, whose answer a dialog built again (after a language switch)
    can still receive: the password it sets is shown once, so it must not get lost."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._result: ResetResult | None = None
        self._error: BaseException | None = None

    def run(self, fn: Any, *args: Any) -> ResetResult:
        try:
            self._result = fn(*args)
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._done.set()
        return self._result

    def wait(self) -> ResetResult:
        if not self._done.wait(HANDOVER_SECONDS):
            raise HelpdeskError(M("The password reset did not answer: see the audit log."))
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
