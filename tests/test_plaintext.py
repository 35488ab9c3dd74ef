"""The one rule for text from outside: visible escapes on screen, exact values in JSON."""

from __future__ import annotations

import json

import pytest

from helpdesk.plaintext import clip, json_text, printable
from tests.hostile import VALUES, assert_clean


@pytest.mark.parametrize("name", sorted(VALUES))
def test_every_hostile_value_is_printable_and_nothing_is_lost(name):
    value = VALUES[name]
    shown = printable(value)
    assert_clean(shown.replace("\n", "?"), where=name)
    # Replaced, never removed: every character is either there or stands as an escape.
    assert len(shown) >= len(value)


def test_escapes_are_the_ones_the_operator_can_read():
    assert printable("a\x1b]0;t\x07") == "a\\x1b]0;t\\x07"
    assert printable("x\u202ey") == "x\\u202ey"
    assert printable("m\udcfcller") == "m\\udcfcller"
    assert printable("t\U000e0041") == "t\\U000e0041"
    assert printable("a\nb") == "a\\x0ab"
    # Ordinary text, umlauts and markup brackets stay as they are: markup is not our business here.
    assert printable("Müller [b]GmbH[/b] ✓") == "Müller [b]GmbH[/b] ✓"
    assert printable(None) == ""
    assert printable(42) == "42"


def test_clip_marks_what_it_cut():
    assert clip("abcdefgh", 5) == "abcd…"
    assert clip("abc", 5) == "abc"
    assert clip("\x1b[2J", 4) == "\\x1…"


@pytest.mark.parametrize("name", sorted(VALUES))
def test_json_is_terminal_safe_and_parses_back_exactly(name):
    data = {"value": VALUES[name], "list": [VALUES[name]]}
    out = json_text(data)
    assert_clean(out, where=name)
    assert json.loads(out) == data


@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_list_of_records_is_one_record_a_line_terminal_safe_and_exact(name):
    """`offenders --json` and the like: one record per line, still safe and exact."""
    data = [{"user": VALUES[name], "n": k, "ips": {"192.0.2.1": 2}} for k in range(3)]
    out = json_text(data)
    assert_clean(out, where=name)
    assert json.loads(out) == data
    lines = out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 5
    assert all(json.loads(line.strip().rstrip(",")) == data[k] for k, line in enumerate(lines[1:4]))


def test_json_keeps_readable_text_readable():
    assert json_text({"name": "Jürgen Müller"}, indent=None) == '{"name": "Jürgen Müller"}'
