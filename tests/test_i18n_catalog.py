"""No string left behind: every text a person reads is marked, and German has it."""

from __future__ import annotations

import sys

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT))
import catalogs  # noqa: E402  (the build script at the top of the repository)


def test_every_text_in_screens_and_commands_is_marked_and_no_error_is_bare_text():
    problems = catalogs.lint([ROOT / "helpdesk", ROOT / "screens"])
    assert problems == [], "\n".join(problems[:40])


def test_every_marked_text_has_a_german_translation_that_is_not_fuzzy():
    # stack/welcome.py: what `make demo` says before the TUI opens, in the TUI's language.
    problems = catalogs.missing([ROOT / "helpdesk", ROOT / "screens", ROOT / "stack/welcome.py"])
    assert problems == [], "\n".join(problems[:40])


def test_the_compiled_catalogs_of_the_working_tree_are_those_of_the_po_files(tmp_path):
    # `make` compiles them; a stale .mo would show old German while the .po is right.
    fresh = catalogs.compile_all(catalogs.LOCALE, tmp_path)
    assert fresh, "no German catalog"
    for mo in fresh:
        used = catalogs.LOCALE / mo.relative_to(tmp_path)
        assert used.exists(), f"{used.relative_to(ROOT)} is not compiled: run make catalogs"
        with mo.open("rb") as a, used.open("rb") as b:
            want = {_key(m.id): _key(m.string) for m in read_mo(a) if m.id}
            have = {_key(m.id): _key(m.string) for m in read_mo(b) if m.id}
        assert have == want, f"{used.relative_to(ROOT)} is stale: run make catalogs"


def _key(value):
    # A plural entry's id and text come back as lists.
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_checker_finds_what_it_must_find(tmp_path):
    # The two tests above pass on a tree without a single marked string if the checker is blind.
    sample = ROOT / "screens" / "_i18n_sample_for_test.py"
    sample.write_text(
        "from helpdesk.errors import PolicyError\n"
        "from textual.binding import Binding\n"
        "B = [Binding('x', 'go', 'Go somewhere', id='s.go')]\n"
        "def f(name):\n"
        "    self.notify(f'No mailbox named {name}')\n"
        "    title = 'Address'\n"
        "    css = 'some-class'  # i18n: not text\n"
        "    raise PolicyError('ticket missing')\n"
    )
    try:
        found = catalogs.lint([sample])
    finally:
        sample.unlink()
    assert [line.split(":", 2)[1] for line in found] == ["3", "5", "6", "8"], found


def test_the_checker_finds_bare_text_the_core_hands_on_for_display():
    # The core is not all text (log formats, SQL, ids): what it returns for display is found by
    # where it goes. Each planted line below must be reported, the marked ones not.
    sample = ROOT / "helpdesk" / "_i18n_core_sample_for_test.py"
    sample.write_text(
        "from helpdesk.i18n import M, Text\n"
        "def collect(warnings, exc, row):\n"
        "    warnings.append(f'Exim log not read: {exc}')\n"
        "    warnings.append(M('Exim log not read: {error}', error=exc))\n"
        "    row.reason = 'sending is suspended'\n"
        "    return Offender(reason=f'too many recipients for {row}', key='x y')\n"
        "def why(row) -> Text | None:\n"
        "    return 'Limit reached today'\n"
        "def stored(conn):\n"
        "    record(conn, reason='password campaign 7: set before')\n"
        "    pattern = 'Sending is suspended for this mailbox'\n"
    )
    try:
        found = catalogs.lint([sample])
    finally:
        sample.unlink()
    assert [line.split(":", 2)[1] for line in found] == ["3", "5", "6", "8"], found


def test_every_german_catalog_names_the_language_and_its_plural_rule():
    for po in sorted((catalogs.LOCALE / "de" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        assert str(catalog.locale) == "de", po.name
        assert catalog.plural_expr.replace(" ", "") in ("(n!=1)", "n!=1"), po.name
        assert not catalog.fuzzy, f"{po.name}: the header is marked fuzzy"
