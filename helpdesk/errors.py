"""Errors a user can cause. Each one's text is a single line fit to print as it is.

The text is a message id with parameters (`M("…", name=value)`, helpdesk.i18n): `str(error)`
renders it in the operator's language when it is shown, `error.message.as_json()` keeps the
id, the parameters and the English text. A plain string is still accepted and shown as it is.
"""

from __future__ import annotations

from typing import Any

from helpdesk.i18n import Text, render


class HelpdeskError(Exception):
    """Base class: the CLI prints str(error) on stderr and exits non-zero; the UI shows it."""

    exit_code = 1

    def __init__(self, message: str | Text = "", *args: Any) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return render(self.message)

    def english(self) -> str:
        return self.message.english() if isinstance(self.message, Text) else str(self.message)


class ConfigError(HelpdeskError):
    exit_code = 2


class NotFound(HelpdeskError):
    pass


class Conflict(HelpdeskError):
    """Someone else changed the record since it was loaded; nothing was written."""


class PolicyError(HelpdeskError):
    """Input refused by a rule (weak password, invalid ladder, missing ticket)."""


class Unreachable(HelpdeskError):
    """A server (database, rspamd controller) could not be reached or answered badly."""
