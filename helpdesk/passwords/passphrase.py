"""Phone-friendly passphrases: words from a diceware list joined by `-`, then a number.

The word list comes from the `diceware` package (German: its 8,192-word list), filtered to
words an operator can read out and a customer can type without asking back: letters only,
none of the characters in `ambiguous` (default l 1 I O 0), no umlauts or ß unless
`allow_umlauts`. The strength is counted from the filtered list alone: enough words for
`min_entropy_bits` (default 50), plus the number on top.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from helpdesk.errors import ConfigError, PolicyError
from helpdesk.i18n import M
from helpdesk.passwords.policy import PasswordSettings, check_password

# language code -> diceware's list name; any other value is a diceware list name or a file
LANGUAGE_LISTS = {
    "de": "de_8k",
    "en": "en_eff",
    "fr": "fr",
    "it": "it",
    "es": "es",
    "pt": "pt-br",
    "ca": "ca",
}

_GERMAN_EXTRA = set("äöüß")
MIN_WORD, MAX_WORD = 3, 10
MAX_WORDS = 12
ATTEMPTS = 50


@dataclass(frozen=True)
class WordList:
    source: str
    words: tuple[str, ...]

    @property
    def bits_per_word(self) -> float:
        return math.log2(len(self.words))


@dataclass(frozen=True)
class Recipe:
    """How passphrases are built under the given settings, and what they are worth."""

    wordlist: WordList
    word_count: int
    digits: str
    number_digits: int
    separator: str

    @property
    def word_bits(self) -> float:
        return self.word_count * self.wordlist.bits_per_word

    @property
    def total_bits(self) -> float:
        return self.word_bits + self.number_digits * math.log2(len(self.digits))


_cache: dict[tuple[str, bool, str, int], WordList] = {}
_lock = threading.Lock()


def _wordlist_path(name: str) -> tuple[str, Path]:
    candidate = Path(name).expanduser()
    if "/" in name or candidate.suffix == ".txt":
        return str(candidate), candidate
    from diceware.wordlist import get_wordlist_path

    list_name = LANGUAGE_LISTS.get(name, name)
    try:
        found = get_wordlist_path(list_name)
    except ValueError:
        found = None
    if not found:
        raise ConfigError(
            M(
                "[passwords] wordlist {name!r}: no such diceware list "
                "(languages: {languages}) and not a file path",
                name=name,
                languages=", ".join(sorted(LANGUAGE_LISTS)),
            )
        )
    return f"diceware:{list_name}", Path(found)


def _usable(word: str, ambiguous: str, allow_umlauts: bool) -> bool:
    if not (MIN_WORD <= len(word) <= MAX_WORD) or not word.isalpha():
        return False
    if any(c in ambiguous for c in word):
        return False
    if word.isascii():
        return True
    return allow_umlauts and all(c.isascii() or c in _GERMAN_EXTRA for c in word)


def load_wordlist(settings: PasswordSettings) -> WordList:
    source, path = _wordlist_path(settings.wordlist)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(
            M("[passwords] wordlist {path}: {reason}", path=str(path), reason=exc.strerror)
        ) from None
    key = (str(path), settings.allow_umlauts, settings.ambiguous, mtime)
    with _lock:
        if key in _cache:
            return _cache[key]
        from diceware.wordlist import WordList as DicewareList

        try:
            raw = list(DicewareList(str(path)))
        except OSError as exc:
            raise ConfigError(
                M("[passwords] wordlist {path}: {reason}", path=str(path), reason=exc.strerror)
            ) from None
        words = sorted(
            {
                w.lower()
                for w in raw
                if _usable(w.lower(), settings.ambiguous, settings.allow_umlauts)
            }
        )
        if len(words) < 2:
            raise ConfigError(
                M("[passwords] wordlist {name!r} has no usable words", name=settings.wordlist)
            )
        found = WordList(source=source, words=tuple(words))
        _cache[key] = found
        return found


def recipe(settings: PasswordSettings) -> Recipe:
    wordlist = load_wordlist(settings)
    count = max(2, math.ceil(settings.min_entropy_bits / wordlist.bits_per_word - 1e-9))
    if count > MAX_WORDS:
        raise ConfigError(
            M(
                "[passwords] wordlist {name!r} has only {words} usable words: {count} of them "
                "would be needed for {bits} bits",
                name=settings.wordlist,
                words=str(len(wordlist.words)),
                count=count,
                bits=format(settings.min_entropy_bits, "g"),
            )
        )
    digits = "".join(d for d in "0123456789" if d not in settings.ambiguous)
    if len(digits) < 2:
        raise ConfigError(M("[passwords] ambiguous leaves fewer than two digits for the number"))
    return Recipe(wordlist, count, digits, settings.number_digits, settings.separator)


def candidate(r: Recipe) -> str:
    words = [secrets.choice(r.wordlist.words) for _ in range(r.word_count)]
    number = "".join(secrets.choice(r.digits) for _ in range(r.number_digits))
    return r.separator.join([*words, number])


def generate(
    settings: PasswordSettings,
    *,
    user_inputs: Iterable[str | None] = (),
    current_hash: str | None = None,
) -> str:
    """A new passphrase that passes the policy (a rare one that does not is drawn again)."""
    r = recipe(settings)
    inputs = list(user_inputs)
    for _ in range(ATTEMPTS):
        password = candidate(r)
        try:
            check_password(password, settings, user_inputs=inputs, current_hash=current_hash)
        except PolicyError:
            continue
        return password
    raise PolicyError(
        M(
            "no generated password passed the policy in {tries} tries: "
            "check [passwords] wordlist, min_entropy_bits and min_score",
            tries=ATTEMPTS,
        )
    )
