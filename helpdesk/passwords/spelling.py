"""Spelling alphabets for reading a password out over the phone.

`din5009` is the German alphabet everybody on a German phone line knows (Anton, Berta,
Cäsar …, as DIN 5009 had it until 2022); `din5009-2022` is the current edition with city
names (Aachen, Berlin, Chemnitz …); `nato` is the ICAO/NATO alphabet (Alfa, Bravo …).
"""

from __future__ import annotations

_DIN_1950 = {
    "a": "Anton", "b": "Berta", "c": "Cäsar", "d": "Dora", "e": "Emil", "f": "Friedrich",
    "g": "Gustav", "h": "Heinrich", "i": "Ida", "j": "Julius", "k": "Kaufmann", "l": "Ludwig",
    "m": "Martha", "n": "Nordpol", "o": "Otto", "p": "Paula", "q": "Quelle", "r": "Richard",
    "s": "Samuel", "t": "Theodor", "u": "Ulrich", "v": "Viktor", "w": "Wilhelm",
    "x": "Xanthippe", "y": "Ypsilon", "z": "Zacharias",
    "ä": "Ärger", "ö": "Ökonom", "ü": "Übermut", "ß": "Eszett",
}  # fmt: skip

_DIN_2022 = {
    "a": "Aachen", "b": "Berlin", "c": "Chemnitz", "d": "Düsseldorf", "e": "Essen",
    "f": "Frankfurt", "g": "Goslar", "h": "Hamburg", "i": "Ingelheim", "j": "Jena",
    "k": "Köln", "l": "Leipzig", "m": "München", "n": "Nürnberg", "o": "Offenbach",
    "p": "Potsdam", "q": "Quickborn", "r": "Rostock", "s": "Salzwedel", "t": "Tübingen",
    "u": "Unna", "v": "Völklingen", "w": "Wuppertal", "x": "Xanten", "y": "Ypsilon",
    "z": "Zwickau", "ä": "Umlaut Aachen", "ö": "Umlaut Offenbach", "ü": "Umlaut Unna",
    "ß": "Eszett",
}  # fmt: skip

_NATO = {
    "a": "Alfa", "b": "Bravo", "c": "Charlie", "d": "Delta", "e": "Echo", "f": "Foxtrot",
    "g": "Golf", "h": "Hotel", "i": "India", "j": "Juliett", "k": "Kilo", "l": "Lima",
    "m": "Mike", "n": "November", "o": "Oscar", "p": "Papa", "q": "Quebec", "r": "Romeo",
    "s": "Sierra", "t": "Tango", "u": "Uniform", "v": "Victor", "w": "Whiskey",
    "x": "X-ray", "y": "Yankee", "z": "Zulu",
    "ä": "A-Umlaut", "ö": "O-Umlaut", "ü": "U-Umlaut", "ß": "Sharp S",
}  # fmt: skip

# "Zwo" is how German phone lines keep zwei and drei apart
_GERMAN_DIGITS = ["Null", "Eins", "Zwo", "Drei", "Vier", "Fünf", "Sechs", "Sieben", "Acht", "Neun"]
_NATO_DIGITS = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Niner"]

_GERMAN_SYMBOLS = {
    "-": "Bindestrich", "_": "Unterstrich", ".": "Punkt", ",": "Komma", ":": "Doppelpunkt",
    ";": "Semikolon", "!": "Ausrufezeichen", "?": "Fragezeichen", "#": "Raute",
    "+": "Plus", "*": "Stern", "/": "Schrägstrich", "@": "At-Zeichen", "&": "Und-Zeichen",
    "$": "Dollar", "%": "Prozent", "=": "Gleichheitszeichen", " ": "Leerzeichen",
}  # fmt: skip

_ENGLISH_SYMBOLS = {
    "-": "Dash", "_": "Underscore", ".": "Dot", ",": "Comma", ":": "Colon",
    ";": "Semicolon", "!": "Exclamation mark", "?": "Question mark", "#": "Hash",
    "+": "Plus", "*": "Star", "/": "Slash", "@": "At", "&": "Ampersand", "$": "Dollar",
    "%": "Percent", "=": "Equals", " ": "Space",
}  # fmt: skip

ALPHABETS = {
    "din5009": (_DIN_1950, _GERMAN_DIGITS, _GERMAN_SYMBOLS, "groß"),
    "din5009-2022": (_DIN_2022, _GERMAN_DIGITS, _GERMAN_SYMBOLS, "groß"),
    "nato": (_NATO, _NATO_DIGITS, _ENGLISH_SYMBOLS, "capital"),
}

# Which alphabets a caller of each language knows; the first is the default.
_LANGUAGE_ALPHABETS = {"de": ("din5009", "din5009-2022"), "en": ("nato",)}


def alphabet_for_language(lang: str, configured: str | None = None) -> str:
    """The spelling alphabet for a customer who speaks `lang` ("de" -> "din5009", "en" -> "nato").

    `configured` is `[passwords] spelling`: it is used when it is an alphabet of that language
    (a site that set "din5009-2022" reads German callers the city names), else the language's
    own default. An unknown language gets the German default, as before languages existed.
    """
    choices = _LANGUAGE_ALPHABETS.get(lang, _LANGUAGE_ALPHABETS["de"])
    return configured if configured in choices else choices[0]


def spell(text: str, alphabet: str = "din5009", *, lang: str | None = None) -> list[str]:
    """One spoken word per character: "ab-3" -> ["Anton", "Berta", "Bindestrich", "Drei"].

    `lang` is the customer's language: given, the alphabet is the one that language knows
    (`alphabet` still chooses among the German ones); without it, `alphabet` as it is.
    """
    if lang is not None:
        alphabet = alphabet_for_language(lang, alphabet)
    letters, digits, symbols, capital = ALPHABETS[alphabet]
    out: list[str] = []
    for ch in text:
        low = ch.lower()
        if low in letters:
            name = letters[low]
            out.append(f"{capital} {name}" if ch != low else name)
        elif ch.isdigit() and ch.isascii():
            out.append(digits[int(ch)])
        else:
            out.append(symbols.get(ch, repr(ch)))
    return out


def spell_grouped(
    text: str, alphabet: str = "din5009", separator: str = "-", *, lang: str | None = None
) -> list[str]:
    """One line per word of a passphrase: "abart: Anton Berta Anton Richard Theodor"."""
    lines = []
    for part in text.split(separator):
        lines.append(f"{part}: {' '.join(spell(part, alphabet, lang=lang))}")
    return lines
