"""zxcvbn's feedback in the operator's language.

zxcvbn writes its warnings and suggestions in English, through the gettext of its own that
nobody configures. Every sentence the installed zxcvbn (4.5) can return is listed here as a
message id, so that the strength meter and the "too weak" error read in German too; a
sentence a later zxcvbn adds and this list lacks is shown in English rather than lost.
"""

from __future__ import annotations

from collections.abc import Iterable

from helpdesk.i18n import M, Text

_ZXCVBN = (
    M("Use a few words, avoid common phrases."),
    M("No need for symbols, digits, or uppercase letters."),
    M("Add another word or two. Uncommon words are better."),
    M("Straight rows of keys are easy to guess."),
    M("Short keyboard patterns are easy to guess."),
    M("Use a longer keyboard pattern with more turns."),
    M('Repeats like "aaa" are easy to guess.'),
    M('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    M("Avoid repeated words and characters."),
    M('Sequences like "abc" or "6543" are easy to guess.'),
    M("Avoid sequences."),
    M("Recent years are easy to guess."),
    M("Avoid recent years."),
    M("Avoid years that are associated with you."),
    M("Dates are often easy to guess."),
    M("Avoid dates and years that are associated with you."),
    M("This is a top-10 common password."),
    M("This is a top-100 common password."),
    M("This is a very common password."),
    M("This is similar to a commonly used password."),
    M("A word by itself is easy to guess."),
    M("Names and surnames by themselves are easy to guess."),
    M("Common names and surnames are easy to guess."),
    M("Capitalization doesn't help very much."),
    M("All-uppercase is almost as easy to guess as all-lowercase."),
    M("Reversed words aren't much harder to guess."),
    M("Predictable substitutions like '@' instead of 'a' don't help very much."),
)
_BY_ENGLISH = {text.id: text for text in _ZXCVBN}


def feedback_text(english: str) -> Text:
    """One of zxcvbn's (or this package's) English sentences as a Text.

    This package's own warnings (strength.WARN_*) are message ids already and render through
    the same catalog; a sentence no catalog knows renders as it is, braces and all.
    """
    known = _BY_ENGLISH.get(english)
    if known is not None:
        return known
    return Text(english.replace("{", "{{").replace("}", "}}"))


def sentences(parts: Iterable[Text | str]) -> Text:
    """Several sentences as one Text, in the order given, separated by a space."""
    items = [p for p in parts if str(p).strip()]
    if not items:
        return M("Too easy to guess.")
    joined: Text | str = items[0]
    for part in items[1:]:
        joined = M("{first} {second}", first=joined, second=part)
    return joined if isinstance(joined, Text) else Text(joined)
