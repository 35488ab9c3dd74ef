"""Password strength: zxcvbn with German words, the word-plus-number pattern, German favourites.

zxcvbn only knows English. Three additions make German habits guessable for it:

* every language in ``dictionaries`` adds the ``dictionary_size`` most frequent words of that
  language from ``wordfreq`` (plus spellings without umlauts: ``fussball``, ``mueller``,
  ``muller``) as one extra ranked dictionary;
* a matcher for "word, then a number or year, then up to two symbols" (``Sommer2016!``), the
  first rule every cracking tool applies. zxcvbn itself adds 10^4 guesses per extra piece of
  a password, so a common word with a year and a ``!`` scores 3 and would pass; treated as one
  piece it costs rank × case × number space × symbol space, which is what an attacker pays;
* the passwords German users choose most (``common.py``), and their near matches, score at
  most 2 (``COMMON_SCORE``), whatever zxcvbn thinks of them: ``Sonnenschein2016!`` is among
  the first guesses of any German cracking list.

zxcvbn's own ``zxcvbn()`` writes ``user_inputs`` into a module-wide dictionary; the UI checks
from worker threads, so this module passes its own per-call dictionaries instead.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from helpdesk.i18n import N_, M, Text
from helpdesk.passwords.feedback import feedback_text, sentences

# zxcvbn refuses longer input, and its l33t matcher grows quickly with length
ZXCVBN_MAX_CHARS = 72

# zxcvbn's "recent_year" regex stops at 2019; people use the year they set the password
_YEAR_MIN, _YEAR_MAX = 1900, 2039

_UMLAUTS_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_UMLAUTS_DROPPED = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})

# letters, then digits, then optional symbols, e.g. "Sommer" "2016" "!"
_SEPARATORS = "-_.+ "
_WORD_NUMBER = re.compile(r"([^\W\d_]+)(\d{1,4})(?!\d)([^\w\s]{0,2})")

# Message ids (English): Strength.warning holds one of these or zxcvbn's own English warning;
# Strength.warning_text is it in the operator's language.
WARN_WORD_NUMBER = N_("A word followed by a number or year is easy to guess.")
WARN_OWN_DETAILS = N_("It is built from the customer's own name, address or customer number.")
WARN_WORD = N_("A common word by itself is easy to guess.")
WARN_WORDS = N_("Common words and names are easy to guess.")
WARN_EMPTY = N_("The password is empty.")
WARN_COMMON = N_("This is one of the passwords German users choose most.")
WARN_COMMON_VARIANT = N_("This is a common German password with small changes.")

# zxcvbn's "somewhat guessable": what a listed password or a near match is at best worth
COMMON_SCORE = 2


@dataclass(frozen=True)
class Strength:
    """What zxcvbn thinks of a password (never holds the password itself).

    `warning` and `suggestions` are English, as zxcvbn writes them (and message ids);
    `warning_text` and `reason()` are them as texts for the operator's language.
    """

    score: int
    guesses_log10: float
    warning: str
    suggestions: tuple[str, ...]
    crack_time: str
    # "exact" or "variant" when the password is on the German list (common.py), else ""
    common: str = ""

    @property
    def warning_text(self) -> Text | None:
        """The warning as a text to show, or None when there is none."""
        return feedback_text(self.warning.strip()) if self.warning.strip() else None

    def reason(self) -> Text:
        """One line: the warning (or a generic one) and zxcvbn's suggestions."""
        parts = [self.warning, *self.suggestions]
        return sentences(feedback_text(p.strip()) for p in parts if p.strip())


def spelled_variants(word: str) -> set[str]:
    """The word lowercased, and with umlauts spelled out or dropped."""
    w = word.lower()
    return {w, w.translate(_UMLAUTS_SPELLED), w.translate(_UMLAUTS_DROPPED)}


def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def user_input_tokens(values: Iterable[str | None]) -> list[str]:
    """Split a customer's details into the pieces people build passwords from.

    ``hans.mueller@baeckerei-mueller.de`` gives ``hans.mueller``, ``hans``, ``mueller``,
    ``baeckerei-mueller``, ``baeckerei``, ``de``…; real names also without umlauts.
    """
    tokens: list[str] = []
    seen: set[str] = set()

    def add(tok: str) -> None:
        for variant in spelled_variants(tok) | {_ascii_fold(tok.lower())}:
            if len(variant) >= 3 and variant not in seen:
                seen.add(variant)
                tokens.append(variant)

    for value in values:
        if not value:
            continue
        for chunk in re.split(r"[@\s,;]+", str(value)):
            if not chunk:
                continue
            add(chunk)
            for piece in re.split(r"[._+\-/]+", chunk):
                add(piece)
                # "kunde4711" -> "kunde", "4711"
                for part in re.findall(r"[^\W\d_]+|\d+", piece):
                    add(part)
    return tokens


class _Dictionaries:
    """zxcvbn's ranked dictionaries plus the configured languages, built once per config."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[tuple[tuple[str, ...], int], dict[str, dict[str, int]]] = {}

    def get(self, languages: Sequence[str], size: int) -> dict[str, dict[str, int]]:
        key = (tuple(languages), size)
        with self._lock:
            found = self._built.get(key)
            if found is None:
                found = self._build(languages, size)
                self._built[key] = found
            return found

    @staticmethod
    def _build(languages: Sequence[str], size: int) -> dict[str, dict[str, int]]:
        from zxcvbn import matching

        dicts = {k: v for k, v in matching.RANKED_DICTIONARIES.items() if k != "user_inputs"}
        if languages:
            import wordfreq

            for lang in languages:
                try:
                    top = wordfreq.top_n_list(lang, size)
                except LookupError:
                    from helpdesk.errors import ConfigError

                    raise ConfigError(
                        M(
                            "[passwords] dictionaries: wordfreq has no word list for {lang!r}",
                            lang=lang,
                        )
                    ) from None
                ranked: dict[str, int] = {}
                rank = 0
                for word in top:
                    if len(word) < 2 or not word.isalpha():
                        continue
                    rank += 1
                    for variant in spelled_variants(word):
                        ranked.setdefault(variant, rank)
                dicts[f"wordfreq_{lang}"] = ranked
        return dicts


_DICTIONARIES = _Dictionaries()


def warm_up(languages: Sequence[str], size: int) -> None:
    """Load the word lists now (about half a second) instead of at the first check."""
    _DICTIONARIES.get(languages, size)


def _number_space(digits: str) -> int:
    n = len(digits)
    if n == 4 and _YEAR_MIN <= int(digits) <= _YEAR_MAX:
        return _YEAR_MAX - _YEAR_MIN + 1
    if n >= 3:
        steps = {int(b) - int(a) for a, b in zip(digits, digits[1:], strict=False)}
        if steps in ({1}, {-1}, {0}):  # 123, 4321, 7777
            return 30
    return 10**n


def _word_number_matches(
    password: str, dictionaries: dict[str, dict[str, int]]
) -> list[dict[str, object]]:
    from zxcvbn import scoring

    lower = password.lower()
    matches: list[dict[str, object]] = []
    for m in _WORD_NUMBER.finditer(password):
        letters_start, letters_end = m.span(1)
        digits = m.group(2)
        number_space = _number_space(digits)
        symbols = m.group(3)
        for start in range(letters_start, letters_end - 1):
            word = lower[start:letters_end]
            ranks = [(d[word], name) for name, d in dictionaries.items() if word in d]
            if not ranks:
                continue
            rank, source = min(ranks)
            case = scoring.uppercase_variations({"token": password[start:letters_end]})
            for n_sym in range(len(symbols) + 1):
                end = m.end(2) + n_sym
                guesses = rank * case * number_space * 33**n_sym
                matches.append(
                    {
                        "pattern": "dictionary",
                        "i": start,
                        "j": end - 1,
                        "token": password[start:end],
                        "matched_word": word,
                        "rank": rank,
                        "dictionary_name": "word_number",
                        "source_dictionary": source,
                        "reversed": False,
                        "l33t": False,
                        "guesses": Decimal(guesses),
                        "guesses_log10": math.log10(guesses),
                    }
                )
    return matches


def _tail_options(password: str, end: int) -> list[tuple[int, int]]:
    """Ways a chain can end at `end`: nothing, or digits and up to two symbols after it.

    Returns (new_end, extra_guesses) pairs.
    """
    options = [(end, 1)]
    m = re.compile(r"(\d{1,4})(?!\d)([^\w\s]{0,2})").match(password, end)
    if m:
        space = _number_space(m.group(1))
        for n_sym in range(len(m.group(2)) + 1):
            options.append((m.end(1) + n_sym, space * 33**n_sym))
    return options


def _own_details_matches(password: str, tokens: dict[str, int]) -> list[dict[str, object]]:
    """Two or more of the customer's own details in a row ("Mueller-Hans1").

    zxcvbn would charge 10^4 guesses for each extra piece; someone who knows the customer
    tries their details in combination, so a chain costs (number of details)^k, a factor 6
    per separator (none, or one of - _ . + space) and the digits and symbols at its end.
    """
    from zxcvbn import scoring

    words = sorted((w for w in tokens if len(w) >= 3), key=len, reverse=True)
    if not words:
        return []
    lower = password.lower()
    space = len(words)
    matches: list[dict[str, object]] = []

    def emit(start: int, end: int, guesses: int) -> None:
        token = password[start:end]
        letters = re.sub(r"[^\w]|\d|_", "", token)
        case = scoring.uppercase_variations({"token": letters}) if letters else 1
        total = guesses * case
        matches.append(
            {
                "pattern": "dictionary",
                "i": start,
                "j": end - 1,
                "token": token,
                "matched_word": lower[start:end],
                "rank": guesses,
                "dictionary_name": "user_inputs",
                "reversed": False,
                "l33t": False,
                "guesses": Decimal(total),
                "guesses_log10": math.log10(total),
            }
        )

    def extend(start: int, pos: int, count: int, guesses: int) -> None:
        for word in words:
            if not lower.startswith(word, pos):
                continue
            end = pos + len(word)
            g = guesses * space
            if count + 1 >= 2:
                for tail_end, extra in _tail_options(password, end):
                    emit(start, tail_end, g * extra)
            extend(start, end, count + 1, g * 6)
            if end < len(lower) and lower[end] in _SEPARATORS:
                extend(start, end + 1, count + 1, g * 6)

    for start in range(len(lower)):
        extend(start, start, 0, 1)
    return matches


def _warning(sequence: list[dict[str, object]], zxcvbn_warning: str) -> str:
    names = {m.get("dictionary_name") for m in sequence if m.get("pattern") == "dictionary"}
    sources = {m.get("source_dictionary") for m in sequence}
    if "user_inputs" in names or "user_inputs" in sources:
        return WARN_OWN_DETAILS
    if zxcvbn_warning:
        return zxcvbn_warning
    if "word_number" in names:
        return WARN_WORD_NUMBER
    if any(str(n).startswith("wordfreq_") for n in names):
        return WARN_WORD
    if names:
        return WARN_WORDS
    return ""


def evaluate(
    password: str,
    user_inputs: Iterable[str | None] = (),
    *,
    languages: Sequence[str] = ("de",),
    dictionary_size: int = 100_000,
    min_score: int = 3,
) -> Strength:
    """Score a password from 0 to 4 as zxcvbn does, with the additions described above.

    Only the first 72 characters are judged (zxcvbn's limit); a longer password is at
    least as strong as its start.
    """
    from zxcvbn import feedback, matching, scoring, time_estimates

    sample = password[:ZXCVBN_MAX_CHARS]
    if not sample:
        return Strength(0, 0.0, WARN_EMPTY, (), "instant")
    dicts = dict(_DICTIONARIES.get(languages, dictionary_size))
    dicts["user_inputs"] = matching.build_ranked_dict(user_input_tokens(user_inputs))
    matches = matching.omnimatch(sample, dicts)
    matches.extend(_word_number_matches(sample, dicts))
    matches.extend(_own_details_matches(sample, dicts["user_inputs"]))
    result = scoring.most_guessable_match_sequence(sample, matches)
    guesses = result["guesses"]
    score = time_estimates.guesses_to_score(guesses)
    crack = time_estimates.estimate_attack_times(guesses)["crack_times_display"]
    common = ""
    if score > COMMON_SCORE:
        # only where zxcvbn would let it pass: below that its own warning says more
        from helpdesk.passwords.common import EXACT, match

        common = match(sample) or ""
    if common:
        warning = WARN_COMMON if common == EXACT else WARN_COMMON_VARIANT
        if min_score <= COMMON_SCORE:
            warning = ""
        return Strength(
            score=COMMON_SCORE,
            guesses_log10=float(result["guesses_log10"]),
            warning=warning,
            suggestions=(),
            crack_time=str(crack["offline_slow_hashing_1e4_per_second"]),
            common=common,
        )
    fb = feedback.get_feedback(score, result["sequence"]) if sample else {}
    warning = _warning(result["sequence"], fb.get("warning", "")) if score < min_score else ""
    return Strength(
        score=score,
        guesses_log10=float(result["guesses_log10"]),
        warning=warning,
        suggestions=tuple(fb.get("suggestions", ())),
        crack_time=str(crack["offline_slow_hashing_1e4_per_second"]),
    )
