"""Example auto-reply texts for the customer, in German and English (`--lang`)."""

from __future__ import annotations

import re
from datetime import datetime

from helpdesk.i18n import N_, format_datetime, gettext_for

EXAMPLE_SUBJECT = N_("Out of office")
EXAMPLE_BODY = N_(
    "Thank you for your message.\n\n"
    "I am out of the office until {until} and will read your message after my return. "
    "Your message will not be forwarded.\n\n"
    "Kind regards"
)
EXAMPLE_BODY_OPEN = N_(
    "Thank you for your message.\n\n"
    "I am out of the office and will read your message after my return. "
    "Your message will not be forwarded.\n\n"
    "Kind regards"
)


def example(lang: str, until: str | None) -> tuple[str, str]:
    """(subject, text) of the example auto-reply in `lang` ("de" or "en"), naming the day it
    ends when there is one."""
    catalog = gettext_for(lang)
    if until is None:
        return catalog.gettext(EXAMPLE_SUBJECT), catalog.gettext(EXAMPLE_BODY_OPEN)
    day = _spoken_day(until, lang)
    return catalog.gettext(EXAMPLE_SUBJECT), catalog.gettext(EXAMPLE_BODY).format(until=day)


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# A customer reads the day as letters are dated in the language: "15. Januar 2099" in German,
# "15 January 2099" in English, never the ISO form the operator types.
_DAY_PATTERN = {"de": "d. MMMM yyyy", "en": "d MMMM yyyy"}


def _spoken_day(until: str, lang: str) -> str:
    match = _ISO_DAY.fullmatch(until.strip())
    if match is None:
        return until
    try:
        day = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return until
    return format_datetime(day, _DAY_PATTERN.get(lang, _DAY_PATTERN["en"]), lang)
