"""Example auto-reply texts for the customer, in German and English (`--lang`)."""

from __future__ import annotations

from helpdesk.i18n import N_, gettext_for

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
    return catalog.gettext(EXAMPLE_SUBJECT), catalog.gettext(EXAMPLE_BODY).format(until=until)
