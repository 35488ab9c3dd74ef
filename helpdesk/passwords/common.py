"""The passwords German users choose most, and the near matches attackers try first.

The list (``data/german-common.txt``: HPI's yearly top lists, terms of endearment and pet
names, the top of SecLists' German list; sources and licences in its header) is read on the
first check, once per process, never at import: ``helpdesk --help`` and the TUI's first
paint do not pay for it.

A password matches when, lowercased and with umlauts spelled out, it is an entry, or becomes
one after any of what cracking rules undo first: digits and up to two symbols at the end
(``Schatz2024!``), separators inside (``ich liebe dich``), look-alike characters as zxcvbn's
l33t matcher reads them (``$ch4tz``, ``p@ssw0rt``). The cleartext never leaves this module:
the result says only whether and how it matched, never which entry.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from importlib import resources

DATA = "data/german-common.txt"

EXACT = "exact"
VARIANT = "variant"

# the trailing run cracking rules append: a year or a few digits, then "!", "?" and the like
_MAX_TAIL = 8
_TAIL = re.compile(r"[\d\W_]*$")
_SEPARATORS = re.compile(r"[\s._\-+/]+")
_UMLAUTS_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_UMLAUTS_DROPPED = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


class _List:
    """The entries, normalised, loaded on first use; `loads` counts reads of the file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: frozenset[str] | None = None
        self._longest = 0
        self.loads = 0

    def entries(self) -> tuple[frozenset[str], int]:
        with self._lock:
            if self._entries is None:
                self._entries, self._longest = _read()
                self.loads += 1
            return self._entries, self._longest


def _read() -> tuple[frozenset[str], int]:
    text = resources.files("helpdesk.passwords").joinpath(DATA).read_text(encoding="utf-8")
    entries: set[str] = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        word = _normal(line)
        # an entry written with umlauts also stands for its spellings without them
        entries.update(
            {word, unicodedata.normalize("NFC", line).lower().translate(_UMLAUTS_DROPPED)}
        )
    return frozenset(entries), max(map(len, entries), default=0)


_LIST = _List()


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower().translate(_UMLAUTS_SPELLED)


def loads() -> int:
    """How often the list was read in this process (0 until the first check, then 1)."""
    return _LIST.loads


def size() -> int:
    """The number of normalised entries (loads the list)."""
    return len(_LIST.entries()[0])


def _stems(word: str) -> list[str]:
    """`word` and what is left after taking off part of its trailing digits and symbols."""
    tail = _TAIL.search(word)
    start = tail.start() if tail else len(word)
    start = max(start, len(word) - _MAX_TAIL)
    return [word[:cut] for cut in range(len(word), start - 1, -1)]


def _unleet(word: str) -> list[str]:
    """The readings zxcvbn's l33t matcher tries: each look-alike set to one letter."""
    from zxcvbn import matching

    table = matching.relevant_l33t_subtable(word, matching.L33T_TABLE)
    if not table:
        return []
    return [matching.translate(word, sub) for sub in matching.enumerate_l33t_subs(table) if sub]


def match(password: str) -> str | None:
    """EXACT if the password is on the list (any case), VARIANT if it is a near match, else None."""
    entries, longest = _LIST.entries()
    word = _normal(password)
    if word in entries:
        return EXACT
    # nothing longer than an entry plus its tail and a few separators can be a near match,
    # which keeps the l33t enumeration small
    if not word or len(word) > 2 * longest + _MAX_TAIL:
        return None
    seen: set[str] = set()
    for stem in _stems(word):
        for form in (stem, _SEPARATORS.sub("", stem)):
            for candidate in (form, *_unleet(form)):
                if candidate in seen:
                    continue
                seen.add(candidate)
                if len(candidate) >= 3 and candidate in entries:
                    return VARIANT
    return None
