"""What the operator reads out to the customer after a release: the message may go out again,
sent unchanged, within the release's time. A customer text, so it is rendered in the
customer's language (`render(customer_language(choice))`), whatever the operator reads.

The text names the subject when it is known, the time in words a customer understands
("4 hours", "2 days", never "4h") and the deadline, and says that a changed message is checked
again: the release holds for exactly this content.
"""

from __future__ import annotations

from datetime import timedelta

from helpdesk.i18n import Mn, Text
from helpdesk.plaintext import clip

# Each language named in itself, as the reset dialog and the palette name them.
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}
# A subject read out on the phone: the start says which message it was.
SUBJECT_WIDTH = 60


def span_text(delta: timedelta) -> Text:
    """A release's time as a customer says it: whole days from two days on, else hours, else
    minutes (rounded down, at least one)."""
    seconds = max(int(delta.total_seconds()), 60)
    if seconds >= 2 * 86400:
        return Mn("{n} day", "{n} days", seconds // 86400)
    if seconds >= 3600:
        return Mn("{n} hour", "{n} hours", seconds // 3600)
    return Mn("{n} minute", "{n} minutes", seconds // 60)


def release_explanation(*, subject: str, lasts: timedelta, until: str, uses: int) -> Text:
    """The customer text for a release of `uses` copies lasting `lasts` (ending at `until`,
    already written as the operator's clock shows it)."""
    params = {"lasts": span_text(lasts), "until": until}
    if subject.strip():
        return Mn(
            "Your message “{subject}” has been released. Please send it again, unchanged, "
            "within {lasts} (by {until}); it will then go out once. A changed message is "
            "checked again.",
            "Your message “{subject}” has been released. Please send it again, unchanged, "
            "within {lasts} (by {until}); it may then go out up to {n} times. A changed "
            "message is checked again.",
            uses,
            subject=clip(subject.strip(), SUBJECT_WIDTH),
            **params,
        )
    return Mn(
        "Your message has been released. Please send it again, unchanged, within {lasts} "
        "(by {until}); it will then go out once. A changed message is checked again.",
        "Your message has been released. Please send it again, unchanged, within {lasts} "
        "(by {until}); it may then go out up to {n} times. A changed message is checked again.",
        uses,
        **params,
    )
