"""The spelled password in the customer's language: DIN 5009 for German, ICAO/NATO for English."""

from __future__ import annotations

import pytest

from helpdesk import i18n
from helpdesk.i18n import customer_language
from helpdesk.passwords.spelling import alphabet_for_language, spell, spell_grouped


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("lang", "configured", "expected"),
    [
        ("de", None, "din5009"),
        ("en", None, "nato"),
        # A site that reads German callers the city names keeps them for German callers only.
        ("de", "din5009-2022", "din5009-2022"),
        ("en", "din5009-2022", "nato"),
        # NATO configured: a German caller still gets the alphabet German callers know.
        ("de", "nato", "din5009"),
        # A language without an alphabet of its own gets the German default, as before.
        ("fr", None, "din5009"),
    ],
)
def test_each_language_gets_the_alphabet_its_callers_know(lang, configured, expected):
    assert alphabet_for_language(lang, configured) == expected


def test_an_english_caller_hears_icao_words_a_german_one_din_5009():
    assert spell("ab-3Z", lang="en") == ["Alfa", "Bravo", "Dash", "Three", "capital Zulu"]
    assert spell("ab-3Z", lang="de") == ["Anton", "Berta", "Bindestrich", "Drei", "groß Zacharias"]
    assert spell("9ä", lang="en") == ["Niner", "A-Umlaut"]


def test_without_a_language_the_alphabet_given_is_used_as_before():
    assert spell("ab-3Z") == ["Anton", "Berta", "Bindestrich", "Drei", "groß Zacharias"]
    assert spell("q2", "nato") == ["Quebec", "Two"]
    assert spell("jö", "din5009-2022") == ["Jena", "Umlaut Offenbach"]
    # The configured German edition still counts for a German caller.
    assert spell("jö", "din5009-2022", lang="de") == ["Jena", "Umlaut Offenbach"]
    assert spell("jö", "din5009-2022", lang="en") == ["Juliett", "O-Umlaut"]


def test_a_passphrase_is_spelled_word_by_word_in_the_customers_language():
    assert spell_grouped("abba-42", lang="en") == ["abba: Alfa Bravo Bravo Alfa", "42: Four Two"]
    assert spell_grouped("abba-42", lang="de") == ["abba: Anton Berta Berta Anton", "42: Vier Zwo"]
    assert spell_grouped("abba-42") == ["abba: Anton Berta Berta Anton", "42: Vier Zwo"]
    assert spell_grouped("ab.c", separator=".", lang="en") == ["ab: Alfa Bravo", "c: Charlie"]


def test_without_a_choice_the_customer_hears_the_operators_language():
    i18n.set_language("de")
    assert spell("a", lang=customer_language(None)) == ["Anton"]
    assert spell("a", lang=customer_language("en")) == ["Alfa"]
    i18n.set_language("en")
    assert spell("a", lang=customer_language(None)) == ["Alfa"]
    assert spell("a", lang=customer_language("de")) == ["Anton"]
