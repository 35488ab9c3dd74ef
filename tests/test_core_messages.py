"""Texts the core returns are message ids: German on a German desk, English in --json."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path

import pytest

from helpdesk import i18n
from helpdesk.durations import parse_since
from helpdesk.errors import HelpdeskError
from helpdesk.i18n import Text
from helpdesk.mailcenter.tickets import check_ticket, ticket_error
from helpdesk.passwords.feedback import _BY_ENGLISH, feedback_text
from helpdesk.passwords.policy import PasswordSettings, check_password
from helpdesk.plaintext import json_text
from helpdesk.sieve.limits import check_size
from helpdesk.spam.ladder import parse_rule, parse_rules, validate
from helpdesk.spam.preview import Scored, judge
from helpdesk.spam.script import generate


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


def refused(call, *args, **kwargs) -> HelpdeskError:
    with pytest.raises(HelpdeskError) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("call", "args", "english", "german"),
    [
        (
            check_ticket,
            ("chmidt",),
            "ticket 'chmidt' does not look like a ticket reference: it must match "
            "^[A-Za-z]{1,10}[-_ #]?[0-9]{1,10}$ ([ui] ticket_pattern)",
            "Ticket 'chmidt' sieht nicht wie eine Ticketnummer aus: sie muss auf "
            "^[A-Za-z]{1,10}[-_ #]?[0-9]{1,10}$ passen ([ui] ticket_pattern)",
        ),
        (
            parse_since,
            ("500d",),
            "--since 500d is too long: at most 400 days",
            "--since 500d ist zu lang: höchstens 400 Tage",
        ),
        (
            parse_rule,
            ("6:explode",),
            "unknown action 'explode' (one of: none, mark, junk, forward, delete)",
            "unbekannte Aktion 'explode' (eine von: none, mark, junk, forward, delete)",
        ),
        (
            parse_rules,
            ("6:junk 6:delete",),
            "two rules in this line have the same score",
            "zwei Regeln dieser Zeile haben dieselbe Schwelle",
        ),
        (
            check_size,
            ("x" * 34_001,),
            "the Sieve script would be 34001 bytes, over the limit of 34000 bytes",
            "das Sieve-Skript wäre 34001 Bytes groß, über der Grenze von 34000 Bytes",
        ),
    ],
)
def test_an_error_reads_german_on_a_german_desk_and_stays_english_in_json(
    call, args, english, german
):
    error = refused(call, *args)
    assert str(error) == english
    i18n.set_language("de")
    assert str(error) == german
    assert error.english() == english
    assert isinstance(error.message, Text)
    assert error.message.as_json()["text"] == english
    # What --json writes of it does not follow the desk's language.
    assert json.loads(json_text({"error": error.message})) == {"error": english}


def test_a_weak_password_is_explained_in_german_with_zxcvbns_advice_translated():
    error = refused(check_password, "Sommer2016!", PasswordSettings())
    english = str(error)
    assert english.startswith("too weak (zxcvbn score 2 of 4, 3 needed): A word followed by")
    assert "Add another word or two. Uncommon words are better." in english
    i18n.set_language("de")
    german = str(error)
    assert german.startswith(
        "zu schwach (zxcvbn-Wert 2 von 4, 3 nötig): Ein Wort mit folgender Zahl oder "
        "Jahreszahl ist leicht zu erraten."
    )
    assert "Ein, zwei Wörter mehr; seltene Wörter sind besser." in german
    assert "Add another" not in german
    assert error.english() == english


def test_every_sentence_zxcvbn_can_say_has_a_message_id():
    """A zxcvbn upgrade that adds advice fails here until the sentence is listed, translated."""
    import zxcvbn.feedback

    tree = ast.parse(Path(zxcvbn.feedback.__file__).read_text(encoding="utf-8"))
    said = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(said) > 20
    assert said <= set(_BY_ENGLISH)
    i18n.set_language("de")
    untranslated = sorted(s for s in said if str(feedback_text(s)) == s)
    assert untranslated == []


def test_an_unknown_sentence_is_shown_as_it_is_braces_and_all():
    assert str(feedback_text("Avoid {this}.")) == "Avoid {this}."


def test_the_strength_meter_warning_and_the_ticket_line_follow_the_language():
    settings = PasswordSettings()
    from helpdesk.passwords.policy import strength

    verdict = strength("Sommer2016!", settings)
    assert verdict.warning == "A word followed by a number or year is easy to guess."
    i18n.set_language("de")
    assert str(verdict.warning_text) == (
        "Ein Wort mit folgender Zahl oder Jahreszahl ist leicht zu erraten."
    )
    assert ticket_error("") == "Ticketnummer erforderlich (--ticket T)"
    assert ticket_error("T-4711") is None


def test_ladder_warnings_and_rule_descriptions_translate_but_the_sieve_script_stays_english():
    ladder = parse_rules("6:junk 8.9:delete")
    i18n.set_language("de")
    (warning,) = validate(ladder)
    assert str(warning) == (
        "Löschen ab 8.9 liegt unter 9: erwünschte Mail mit so hohem Wert geht spurlos verloren"
    )
    assert warning.english().startswith("delete from 8.9 is below 9")
    assert [str(rule.describe()) for rule in ladder] == [
        "ab 6.0: nach Junk verschieben",
        "ab 8.9: löschen",
    ]
    # The script is stored and read by admins: the same whatever language generated it.
    script = generate(ladder, label="anna@example.org")
    assert "#   from 6.0: move to Junk" in script
    assert "#   from 8.9: delete" in script
    assert "verschieben" not in script and "löschen" not in script
    i18n.set_language("en")
    assert generate(ladder, label="anna@example.org") == script


def test_the_preview_says_why_in_german_and_its_json_in_english():
    ladder = parse_rules("6:junk")
    messages = [
        Scored(datetime(2026, 11, 1, 9, 0), "1abc-000001-AB", 7.5, "x@spam.example"),
        Scored(datetime(2026, 11, 1, 9, 5), "1abc-000002-AB", 1.0, "friend@example.org"),
    ]
    preview = judge(ladder, messages, allow=("friend@example.org",))
    i18n.set_language("de")
    assert str(preview.summary()) == (
        "Letzte 2: 1 Eingang, 0 markiert, 1 Junk, 0 weitergeleitet, 0 gelöscht"
    )
    assert [str(v.why) for v in preview.verdicts] == [
        "ab 6.0: nach Junk verschieben",
        "erlaubter Absender",
    ]
    data = preview.as_json()["messages"]
    assert [m["why"] for m in data] == ["from 6.0: move to Junk", "allowed sender"]
    assert data[1]["why_message"] == {
        "id": "allowed sender",
        "params": {},
        "text": "allowed sender",
    }
    i18n.set_language("en")
    assert preview.summary().english().startswith("2 recent messages: 1 inbox")
    one = judge(ladder, messages[:1])
    assert str(one.summary()).startswith("1 recent message: 0 inbox")


def test_the_preview_summary_fits_the_tab_at_80_columns_in_german():
    """The summary line has 78 columns at 80 (padding); a full preview has 3-digit counts."""
    from helpdesk.spam.preview import Preview, Verdict

    message = Scored(datetime(2026, 11, 1, 9, 0), "1abc-000001-AB", 7.5, "x@spam.example")
    places = ["inbox"] * 150 + ["marked"] * 20 + ["junk"] * 25 + ["deleted"] * 5
    preview = Preview([Verdict(message, where, forwarded_to="y@example.org") for where in places])
    i18n.set_language("de")
    german = str(preview.summary())
    assert german.startswith("Letzte 200: 150 Eingang") and "200 weitergeleitet" in german
    assert len(german) <= 78
