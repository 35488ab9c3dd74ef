"""Folding names for search, so that `muller`, `mueller` and `müller` all find Müller."""

import re
import unicodedata

_SPECIAL = str.maketrans({"ß": "ss", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "þ": "th"})
# German transliterates ä/ö/ü as ae/oe/ue; folding both spellings to the bare vowel makes all
# three spellings meet. It is applied to the stored name and the query alike, so a name that
# merely contains "ue" (Samuel) still finds itself.
_DIGRAPHS = re.compile(r"([aou])e")
_SPACES = re.compile(r"[^\w@.+-]+")


def fold(text: str) -> str:
    lowered = text.casefold().translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _DIGRAPHS.sub(r"\1", plain)
    return " ".join(_SPACES.sub(" ", plain).split())


def search_name(realname: str) -> str:
    """The stored form: folded, with a leading space so a word prefix is ' ' + query."""
    folded = fold(realname)
    return f" {folded}" if folded else ""


# Marks an entry of two neighbouring words ("~jurgen franke"): a folded query never holds it,
# so a one-word prefix never reads these entries.
PAIR_MARK = "~"


def name_words(realname: str) -> list[str]:
    """The distinct words of the folded name, as the word index holds them, and each two
    neighbouring words in both orders: "jürgen franke" and "franke jürgen" are one range."""
    words = fold(realname).split()
    pairs = [
        f"{PAIR_MARK}{a} {b}"
        for first, second in zip(words, words[1:], strict=False)
        for a, b in ((first, second), (second, first))
    ]
    return list(dict.fromkeys(word[:100] for word in words + pairs))
