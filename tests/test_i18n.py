"""Choosing the language, and message ids that render in either."""

from __future__ import annotations

import ast
import gettext
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk import i18n
from helpdesk.errors import PolicyError
from helpdesk.i18n import M, Mn, Text, language_from_environment, resolve_language
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "de_DE.UTF-8"}, "de"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "de_AT.UTF-8"}, "de"),
        ({"LANG": "de_DE.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANGUAGE": "de:en", "LANG": "en_GB.UTF-8"}, "de"),
        ({"LANG": "de_DE@euro"}, "de"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "C", "LC_ALL": "de_DE.UTF-8"}, "de"),
        ({"LANG": "de_DE.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:de", "LANG": "en_GB.UTF-8"}, "de"),
        ({"LANGUAGE": "fr", "LANG": "de_DE.UTF-8"}, "en"),
        ({"LANGUAGE": "C:de"}, "en"),
        ({"LANGUAGE": "", "LC_ALL": "", "LANG": "de_CH.UTF-8"}, "de"),
    ],
)
def test_auto_follows_the_locale_as_gettext_reads_it(environ, expected, tmp_path, monkeypatch):
    assert language_from_environment(environ) == expected
    assert resolve_language("auto", environ) == expected
    # The same answer as Python's gettext, asked with a German and an English catalog present.
    for lang in i18n.LANGUAGES:
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "probe.mo").write_bytes(b"")
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    found = gettext.find("probe", str(tmp_path))
    assert (Path(found).parent.parent.name if found else "en") == expected


def test_an_explicit_setting_wins_and_an_unknown_one_is_refused():
    assert resolve_language("de", {"LANG": "en_US.UTF-8"}) == "de"
    assert resolve_language(" EN ", {"LANG": "de_DE.UTF-8"}) == "en"
    with pytest.raises(ValueError):
        resolve_language("fr", {})


def test_a_text_renders_in_either_language_and_json_keeps_the_english():
    text = Mn("{n} mailbox is suspended", "{n} mailboxes are suspended", 1234)
    assert text.english() == "1,234 mailboxes are suspended"
    assert text.as_json() == {
        "id": "{n} mailbox is suspended",
        "params": {"n": 1234},
        "text": "1,234 mailboxes are suspended",
    }
    assert Mn("{n} mailbox", "{n} mailboxes", 1).english() == "1 mailbox"
    # Untranslated in German: the English text, with German digit grouping.
    assert text.render("de") == "1.234 mailboxes are suspended"


def test_a_translated_text_and_a_nested_one():
    i18n.set_language("de")
    assert str(M("Quit")) == "Beenden"
    outer = M("{what}: {x}", what=M("Quit"), x="<b>")
    assert outer.render("de") == "Beenden: <b>"
    assert outer.english() == "Quit: <b>"
    assert outer.as_json()["params"]["what"] == {"id": "Quit", "params": {}, "text": "Quit"}


def test_a_broken_translation_falls_back_to_the_english_text(monkeypatch):
    class Broken:
        def gettext(self, message):
            return "{missing} kaputt"

    monkeypatch.setitem(i18n._catalogs, "de", Broken())
    assert M("{who} called", who="Anna").render("de") == "Anna called"


def test_an_error_shows_in_the_ui_language_and_keeps_its_english():
    error = PolicyError(M("Quit"))
    i18n.set_language("de")
    assert str(error) == "Beenden"
    assert error.english() == "Quit"
    assert str(PolicyError("plain text stays")) == "plain text stays"
    assert isinstance(error.message, Text)


def test_babel_is_loaded_neither_by_help_nor_by_the_ui_modules():
    probe = (
        "import sys, contextlib, io\n"
        "import helpdesk.cli, screens.app, screens.search, screens.mailbox\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    helpdesk.cli.main(['--ui-language', 'de', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'babel'))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"


def test_numbers_are_grouped_as_each_language_writes_them():
    assert i18n.format_number(1234567, "en") == "1,234,567"
    assert i18n.format_number(1234567, "de") == "1.234.567"
    assert i18n.number(999) == "999"


def test_a_plural_may_say_how_its_count_is_written():
    # Scripts match some lines by their digits: the count as a string keeps them ungrouped.
    text = Mn("{n} mailbox", "{n} mailboxes", 1234, n="1234")
    assert text.english() == "1234 mailboxes"
    assert text.as_json()["params"] == {"n": "1234"}


@pytest.mark.parametrize(
    ("lang", "n", "matches", "messages"),
    [
        ("en", 1, "1 match", "1 message"),
        ("en", 3, "3 matches", "3 messages"),
        ("en", 0, "0 matches", "0 messages"),
        ("de", 1, "1 Treffer", "1 Nachricht"),
        ("de", 3, "3 Treffer", "3 Nachrichten"),
        ("de", 0, "0 Treffer", "0 Nachrichten"),
    ],
)
def test_plural_forms_in_both_languages(lang, n, matches, messages):
    i18n.set_language(lang)
    assert i18n.ngettext("{n} match", "{n} matches", n).format(n=n) == matches
    assert i18n.ngettext("{n} message", "{n} messages", n).format(n=n) == messages
    assert Mn("{n} message", "{n} messages", n).render(lang) == messages


def test_no_locale_is_ever_set():
    # A fresh machine has only the C locales: setlocale would fail there or change how other
    # libraries read and write (numbers, encodings). Babel formats without it.
    calls = []
    for path in sorted((ROOT / "helpdesk").rglob("*.py")) + sorted(
        (ROOT / "screens").rglob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "setlocale":
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "locale":
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == []
