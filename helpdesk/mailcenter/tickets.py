"""The ticket reference every write carries, checked here once for the CLI and the TUI alike.

A ticket that does not look like one (`chmidt`, the rest of a name typed into the wrong field)
is refused before anything is written. The pattern is `[ui] ticket_pattern`; the database is
opened once per process, and opening it sets the pattern for that process.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from helpdesk.errors import ConfigError, PolicyError
from helpdesk.i18n import M, Text
from helpdesk.plaintext import printable

if TYPE_CHECKING:
    from helpdesk.config import Config

DEFAULT_TICKET_PATTERN = r"^[A-Za-z]{1,10}[-_ #]?[0-9]{1,10}$"
# The audit and release tables hold at most this many characters (schema.py).
MAX_TICKET_LENGTH = 64

_pattern: re.Pattern[str] = re.compile(DEFAULT_TICKET_PATTERN)


def ticket_pattern(config: Config) -> re.Pattern[str]:
    """`[ui] ticket_pattern` of `config`, compiled; the default when it is not set."""
    value = config.section("ui").get("ticket_pattern", DEFAULT_TICKET_PATTERN)
    if not isinstance(value, str) or not value:
        raise ConfigError(
            M("[ui] ticket_pattern must be a non-empty string (a regular expression)")
        )
    try:
        return re.compile(value)
    except re.error as error:
        raise ConfigError(
            M("[ui] ticket_pattern is not a regular expression: {reason}", reason=str(error))
        ) from None


def use_ticket_pattern(pattern: re.Pattern[str] | str) -> None:
    """Check every later ticket of this process against `pattern`."""
    global _pattern
    _pattern = re.compile(pattern) if isinstance(pattern, str) else pattern


def current_ticket_pattern() -> str:
    return _pattern.pattern


def ticket_problem(ticket: str | None) -> Text | None:
    """Why `ticket` is refused (one line, naming the pattern), or None when it is fine."""
    value = (ticket or "").strip()
    if not value:
        return M("a ticket reference is required (--ticket T)")
    if len(value) > MAX_TICKET_LENGTH:
        return M("the ticket reference is longer than {n} characters", n=str(MAX_TICKET_LENGTH))
    if _pattern.search(value) is None:
        return M(
            "ticket '{ticket}' does not look like a ticket reference: "
            "it must match {pattern} ([ui] ticket_pattern)",
            ticket=printable(value),
            pattern=_pattern.pattern,
        )
    return None


def ticket_error(ticket: str | None) -> str | None:
    """`ticket_problem` as a line in the operator's language, for a dialog to show."""
    problem = ticket_problem(ticket)
    return None if problem is None else str(problem)


def check_ticket(ticket: str | None) -> str:
    """The ticket, stripped; PolicyError with one line when it is missing or malformed."""
    error = ticket_problem(ticket)
    if error is not None:
        raise PolicyError(error)
    return (ticket or "").strip()
