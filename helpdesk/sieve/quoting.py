"""Strings and comments in a generated Sieve script that mean exactly what was given."""

from __future__ import annotations

from helpdesk.plaintext import clip

# What `${` in a value becomes: `${dollar}` expands to "$" and the rest stays literal, because
# Sieve expands a string once, not again on the result (RFC 5229, section 3).
DOLLAR_VARIABLE = "dollar"
NEUTRALISED = "${" + DOLLAR_VARIABLE + "}{"


def quote(value: str) -> str:
    """A Sieve string that means exactly `value` at delivery, `${` included."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("${", NEUTRALISED) + '"'


def comment(value: str) -> str:
    """Text for a `#` comment: one line (a newline would end it and start code), bounded."""
    return clip(value, 120)


def string_list(values: list[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"
