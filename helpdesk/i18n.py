"""The operator's language and the customer's: gettext catalogs, message ids, Babel formats.

Two languages are kept apart on purpose. The UI language (`[ui] language`, `--ui-language`) is
what the operator reads; a customer text (a spelled password, a release explanation read out on
the phone) is rendered in the customer's language, chosen per call, because an operator working
in English may well be talking to a German customer.

Source strings are English and are the message ids. Four markers are extracted by Babel
(see babel.cfg):

- `_("…")` translates now, in the UI language: for text built where it is shown (screens, CLI).
- `N_("…")` only marks: for module-level constants (binding descriptions, column titles) that
  are translated with `_()` where they are drawn, so that a language switch reaches them.
- `ngettext("1 message", "{n} messages", n)` translates a plural now.
- `M("…", **params)` / `Mn(singular, plural, n, **params)` make a `Text`: what the core returns
  for display. It renders in any language later, and `--json` carries its id, parameters and
  English text (`Text.as_json`), so that machine output never changes with the language.

Catalogs are `helpdesk/locale/<lang>/LC_MESSAGES/<area>.po`, one per part of the program, all
in the one domain space: a lookup tries every area. The `.mo` files are compiled from them when
the package is built (setup.py) and by `make` for the working tree.

Babel (numbers, dates) is imported on first use only: `helpdesk --help` and the TUI's first
paint never load it, and the C locale of a fresh machine is never touched (no setlocale).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "LANGUAGES",
    "M",
    "Mn",
    "N_",
    "Text",
    "_",
    "customer_language",
    "english",
    "format_datetime",
    "format_number",
    "gettext_for",
    "language",
    "language_from_environment",
    "ngettext",
    "number",
    "render",
    "resolve_language",
    "set_language",
]

LANGUAGES = ("en", "de")
LOCALE_DIR = Path(__file__).with_name("locale")

_current = "en"
_catalogs: dict[str, gettext.NullTranslations] = {}


def _catalog(lang: str) -> gettext.NullTranslations:
    """Every area's catalog of `lang`, chained: a lookup falls through them in turn."""
    found = _catalogs.get(lang)
    if found is not None:
        return found
    chain: gettext.NullTranslations = gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    if lang != "en" and folder.is_dir():
        files = sorted(folder.glob("*.mo"))
        if files:
            with files[0].open("rb") as fh:
                chain = gettext.GNUTranslations(fh)
            for path in files[1:]:
                with path.open("rb") as fh:
                    chain.add_fallback(gettext.GNUTranslations(fh))
    _catalogs[lang] = chain
    return chain


def catalog_files(lang: str) -> list[Path]:
    """The compiled catalogs found for `lang` (the installed-package test asks this)."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    return sorted(folder.glob("*.mo")) if folder.is_dir() else []


def reload_catalogs() -> None:
    """Forget loaded catalogs (after `make` compiled new ones, in a long-lived test process)."""
    _catalogs.clear()


def resolve_language(setting: str | None, environ: Mapping[str, str] | None = None) -> str:
    """`de`, `en`, or `auto`/empty: the locale's language from the environment, else English."""
    value = (setting or "auto").strip().lower()
    if value in LANGUAGES:
        return value
    if value != "auto":
        raise ValueError(value)
    return language_from_environment(os.environ if environ is None else environ)


def language_from_environment(environ: Mapping[str, str]) -> str:
    """The language the first set one of LANGUAGE, LC_ALL, LC_MESSAGES, LANG asks for, as
    Python's gettext reads them: a list (`fr:de`) is tried in turn, a language without a
    catalog skipped; `C`/`POSIX` ends the list. `de_DE.UTF-8` is German whether or not that
    locale is installed (it is only read, never set); nothing usable means English."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if not value:
            continue
        # gettext reads only the first variable that is set, even if none of its languages exists.
        for part in value.split(":"):
            code = part.split(".")[0].split("@")[0].split("_")[0].lower()
            if code in ("c", "posix"):
                return "en"
            if code in LANGUAGES:
                return code
        return "en"
    return "en"


def set_language(lang: str) -> None:
    """Make `lang` the UI language from now on (the TUI's palette switches it at run time)."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(lang)
    _current = lang


def language() -> str:
    return _current


def gettext_for(lang: str) -> gettext.NullTranslations:
    """The translations of `lang`, for customer texts rendered in the customer's language."""
    return _catalog(lang)


def customer_language(choice: str | None) -> str:
    """The customer's language: as chosen for this call, else the UI language."""
    return choice if choice in LANGUAGES else _current


def _(message: str) -> str:
    return _catalog(_current).gettext(message)


def N_(message: str) -> str:
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(_current).ngettext(singular, plural, n)


@dataclass(frozen=True)
class Text:
    """A human text the core returns: message id, parameters, rendered in any language.

    Parameters fill `{name}` fields. A parameter that is itself a Text renders in the same
    language; an int is written with the language's digit grouping (1,234 / 1.234).
    """

    id: str
    params: dict[str, Any] = field(default_factory=dict)
    plural: str | None = None
    n: int | None = None

    def render(self, lang: str | None = None) -> str:
        lang = lang or _current
        catalog = _catalog(lang)
        if self.plural is not None:
            template = catalog.ngettext(self.id, self.plural, self.n or 0)
        else:
            template = catalog.gettext(self.id)
        values = {k: _value(v, lang) for k, v in self.params.items()}
        if self.plural is not None:
            values.setdefault("n", _value(self.n or 0, lang))
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            # A broken translation must not hide the message: the English one still says it.
            return self.english()

    def english(self) -> str:
        template = self.id if self.plural is None or self.n == 1 else self.plural
        values = {k: _value(v, "en") for k, v in self.params.items()}
        if self.plural is not None:
            values.setdefault("n", _value(self.n or 0, "en"))
        return template.format(**values)

    def as_json(self) -> dict[str, Any]:
        """What `--json` carries: the same in every UI language."""
        params = {k: (v.as_json() if isinstance(v, Text) else v) for k, v in self.params.items()}
        if self.plural is not None:
            params.setdefault("n", self.n)
        return {"id": self.id, "params": params, "text": self.english()}

    def __str__(self) -> str:
        return self.render()


def M(message: str, /, **params: Any) -> Text:
    return Text(message, params)


def Mn(singular: str, plural: str, n: int, /, **params: Any) -> Text:
    """A plural text; `{n}` is the count unless a parameter `n` says how to write it."""
    return Text(singular, params, plural=plural, n=n)


def render(value: str | Text, lang: str | None = None) -> str:
    """A Text in `lang` (default: the UI language); a plain string as it is."""
    return value.render(lang) if isinstance(value, Text) else value


def english(value: str | Text) -> str:
    """What `--json` carries for a text: the English, whatever the UI language."""
    return value.english() if isinstance(value, Text) else value


def _value(value: Any, lang: str) -> Any:
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        return format_number(value, lang)
    return value


def number(value: int) -> str:
    """A count as the language writes it; Babel is loaded only for a count that needs grouping."""
    return str(value) if abs(value) < 1000 else format_number(value)


def format_number(value: float, lang: str | None = None) -> str:
    """1234 as `1,234` in English and `1.234` in German."""
    from babel.numbers import format_decimal  # first use only: keeps start-up light

    return format_decimal(value, locale=_babel_locale(lang or _current))


def format_datetime(when: datetime, pattern: str, lang: str | None = None) -> str:
    """`when` (already in the display zone) with a CLDR pattern such as `EEE d MMM HH:mm`."""
    from babel.dates import format_datetime as babel_format

    return babel_format(when, pattern, locale=_babel_locale(lang or _current))


def _babel_locale(lang: str) -> str:
    return {"de": "de_DE", "en": "en_GB"}.get(lang, "en_GB")
