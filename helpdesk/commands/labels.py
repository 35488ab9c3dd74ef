"""Words the human output shows for codes that `--json` keeps as they are.

A mailbox's status and a search hit's kind of match are stable codes for scripts; a person
reads them in the UI language. A code without a label here is shown as it is.
"""

from __future__ import annotations

from helpdesk.i18n import N_, _

STATUS = {
    "active": N_("active"),
    "suspended": N_("suspended"),
    "must-change": N_("must-change"),
    "disabled": N_("disabled"),
}

MATCH = {
    "exact address": N_("exact address"),
    "address prefix": N_("address prefix"),
    "name": N_("name"),
    "local part prefix": N_("local part prefix"),
    "address contains": N_("address contains"),
    "inside a word": N_("inside a word"),
    "customer number": N_("customer number"),
    "all words": N_("all words"),
}


def status_label(code: str) -> str:
    """A mailbox status (`suspended`) as the operator reads it."""
    return _(STATUS[code]) if code in STATUS else code


def match_label(code: str) -> str:
    """A search hit's kind of match (`address prefix`) as the operator reads it."""
    return _(MATCH[code]) if code in MATCH else code


PLACE = {
    "inbox": N_("inbox"),
    "marked": N_("marked"),
    "junk": N_("junk"),
    "deleted": N_("deleted"),
}


def place_label(code: str) -> str:
    """Where a previewed message lands (`junk`) as the operator reads it."""
    return _(PLACE[code]) if code in PLACE else code
