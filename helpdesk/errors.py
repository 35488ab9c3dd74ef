"""Errors a user can cause. Each one's text is a single line fit to print as it is."""


class HelpdeskError(Exception):
    """Base class: the CLI prints str(error) on stderr and exits non-zero; the UI shows it."""

    exit_code = 1


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
