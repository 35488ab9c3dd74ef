"""Saying a limit as Exim applies it: a smoothed average, not a counter reset every hour."""

from __future__ import annotations

from helpdesk.i18n import M, Text


def describe(kind: str, value: int) -> Text:
    """ "a burst of 10, then about 10 per hour" (or "no limit"), per kind of limit."""
    if value <= 0:
        return M("no limit")
    if kind == "messages_per_hour":
        return M("a burst of {n} messages, then about {n} per hour", n=value)
    if kind == "recipients_per_hour":
        return M("a burst of {n} recipients, then about {n} per hour", n=value)
    return M("at most {n} recipients per message", n=value)


def source_text(source: str) -> Text:
    return {
        "mailbox": M("this mailbox's own"),
        "domain": M("the domain's default"),
        "global": M("the global default"),
    }.get(source, M("not set anywhere"))


def over_text(value: str) -> Text:
    if value == "defer":
        return M("over a limit: deferred (451, the mail program tries again later)")
    return M("over a limit: refused (550)")
