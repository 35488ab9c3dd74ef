"""The passwords German users choose most, and their near matches, are refused.

Every password sampled here passes plain zxcvbn (score 3 or 4), so each refusal is the
German list's doing: without helpdesk/passwords/data/german-common.txt these tests fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest
import zxcvbn

from helpdesk import i18n
from helpdesk.errors import PolicyError
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, password_hash
from helpdesk.passwords import common
from helpdesk.passwords.passphrase import candidate, generate, recipe
from helpdesk.passwords.policy import PasswordSettings, check_password, hash_password
from helpdesk.passwords.strength import evaluate
from tests.conftest import run_cli

FAST = PasswordSettings(rounds=5_000)
ADDRESS = "erika.mustermann@beispiel-gmbh.de"
OLD = "Alt-Passwort-Birne-77"
STRONG = "Nordwand-Kaffeetasse-Pirol-83"

EXACT_LINE = "too common: it is on the list of passwords German users choose most"
VARIANT_LINE = (
    "too common: a password German users choose most, with only capitals, digits, a year or"
    " look-alike characters changed"
)

# (password, what it is to an attacker)
LISTED = [
    ("Mausilein44", "exact"),  # SecLists' German top list, as typed
    ("Ichliebedich2024!", "variant"),  # HPI 2020 top ten, capitalised, year and "!"
    ("ich liebe dich 2024", "variant"),  # the phrase with spaces
    ("Schatzimausi2023", "variant"),  # terms of endearment with a year
    ("Hasenbaby2010!", "variant"),
    ("Zuckerschnute99", "variant"),
    ("Fürimmerdein2020", "variant"),  # umlaut as typed
    ("Fuerimmerdein2020", "variant"),  # and spelled out
    ("Herzallerliebste1", "variant"),
    ("Lieblingsmensch2022", "variant"),
    ("SONNENSCHEIN2024!!", "variant"),  # all capitals
    ("P@ssw0rt2019!", "variant"),  # look-alikes as zxcvbn's l33t reads them
    ("Sch4tzimaus1!", "variant"),  # 4 -> a, 1 -> i
    ("Schalke04!2019", "variant"),  # HPI 2016 with a symbol and a year
]
THROUGH_CLI = ["Mausilein44", "Ichliebedich2024!", "ich liebe dich 2024", "P@ssw0rt2019!"]

# strong ones that merely contain a listed word, and passphrases: never near matches
STRONG_ONES = [
    STRONG,
    "Schatz-Kompass-Wolke-Tinte-58",
    "Mausefalle-Gewitter-Rotkehlchen",
    "Hase im Pfeffer wohnt am Deich 7",
]


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.set_language("en")


@pytest.fixture
def setup(db, config_file):
    with config_file.open("a") as fh:
        fh.write("[passwords]\nrounds = 5000\n")
    with db.begin() as conn:
        create_mailbox(
            conn,
            ADDRESS,
            realname="Erika Mustermann",
            customer_ref="KD-100200",
            password_hash=hash_password(OLD, FAST),
            password_changed_at=datetime(2020, 5, 1),
        )
    return db, config_file


def stored(db) -> str:
    with db.connect() as conn:
        return password_hash(conn, get_mailbox(conn, ADDRESS))


@pytest.mark.parametrize(("password", "kind"), LISTED)
def test_plain_zxcvbn_lets_the_sample_pass_and_the_list_refuses_it(password, kind):
    assert zxcvbn.zxcvbn(password)["score"] >= 3
    assert common.match(password) == kind
    verdict = evaluate(password)
    assert verdict.score == 2 and verdict.common == kind
    with pytest.raises(PolicyError) as caught:
        check_password(password, PasswordSettings())
    assert str(caught.value) == (EXACT_LINE if kind == "exact" else VARIANT_LINE)


def test_listed_passwords_and_variants_are_refused_through_the_cli_and_nothing_changes(setup):
    db, cfg = setup
    before = stored(db)
    for password in THROUGH_CLI:
        done = run_cli("passwd", ADDRESS, "--password-stdin", "--ticket", "T-16", config=cfg,
                       stdin=password + "\n")  # fmt: skip
        expected = EXACT_LINE if common.match(password) == "exact" else VARIANT_LINE
        assert done.returncode == 1, password
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], done.stderr
        assert password not in done.stderr and password.lower() not in done.stderr.lower()
    assert stored(db) == before
    with db.connect() as conn:
        assert read(conn, target=ADDRESS) == []


def test_strong_and_generated_passwords_still_pass_through_the_cli(setup):
    db, cfg = setup
    typed = run_cli("passwd", ADDRESS, "--password-stdin", "--ticket", "T-17", config=cfg,
                    stdin=STRONG + "\n")  # fmt: skip
    assert typed.returncode == 0, typed.stderr
    generated = run_cli("passwd", ADDRESS, "--generate", "--ticket", "T-18", "--json", config=cfg)
    assert generated.returncode == 0, generated.stderr
    password = json.loads(generated.stdout)["password"]
    assert common.match(password) is None
    with db.connect() as conn:
        assert [row.ticket for row in read(conn, target=ADDRESS)] == ["T-18", "T-17"]


@pytest.mark.parametrize("password", STRONG_ONES)
def test_strong_passwords_with_a_listed_word_inside_are_not_near_matches(password):
    assert common.match(password) is None
    assert check_password(password, PasswordSettings()).score >= 3


def test_generated_passphrases_never_hit_the_list():
    """The generator's raw draws, before the policy could draw again, are never near matches."""
    settings = PasswordSettings()
    r = recipe(settings)
    for _ in range(2_000):
        assert common.match(candidate(r)) is None, "a generated passphrase is on the German list"
    for _ in range(20):
        assert evaluate(generate(settings)).common == ""


def test_the_refusal_reads_german_on_a_german_desk():
    with pytest.raises(PolicyError) as exact:
        check_password("Mausilein44", PasswordSettings())
    with pytest.raises(PolicyError) as variant:
        check_password("Ichliebedich2024!", PasswordSettings())
    assert exact.value.message.render("de") == (
        "zu häufig: steht auf der Liste der in Deutschland am häufigsten gewählten Passwörter"
    )
    assert variant.value.message.render("de") == (
        "zu häufig: ein in Deutschland besonders beliebtes Passwort, nur mit Großbuchstaben,"
        " Ziffern, Jahreszahl oder ähnlich aussehenden Zeichen verändert"
    )
    i18n.set_language("de")
    assert evaluate("Mausilein44").warning_text.render("de") == (
        "Eines der Passwörter, die in Deutschland am häufigsten gewählt werden."
    )


def test_a_lower_min_score_accepts_what_the_list_scores_two():
    """The list judges on zxcvbn's scale: a listed password is worth score 2 at best."""
    assert check_password("Ichliebedich2024!", PasswordSettings(min_score=2)).score == 2
    assert evaluate("Ichliebedich2024!", min_score=2).warning == ""


def test_the_data_file_names_its_sources_and_licence():
    from importlib import resources

    text = resources.files("helpdesk.passwords").joinpath(common.DATA).read_text("utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for needed in ("Hasso-Plattner-Institut", "SecLists", "MIT License", "Permission is hereby"):
        assert needed in header
    assert 3_000 <= common.size() <= 10_000  # the top few thousand, not a whole leak


_FRESH = """
import sys, threading
from helpdesk.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print("after --help:", "helpdesk.passwords.common" in sys.modules)
from helpdesk.passwords import common
from helpdesk.passwords.policy import PasswordSettings, check_password
from helpdesk.errors import PolicyError
print("before a check:", common.loads())
def work(words):
    for word in words:
        try:
            check_password(word, PasswordSettings())
        except PolicyError:
            pass
words = ["Ichliebedich2024!", "Nordwand-Kaffeetasse-Pirol-83", "P@ssw0rt2019!", "Mausilein44"]
threads = [threading.Thread(target=work, args=(words,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("after checks:", common.loads())
"""


def test_the_list_is_read_once_on_the_first_check_never_at_start():
    done = subprocess.run(
        [sys.executable, "-c", _FRESH], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if ":" in line and "(" not in line]
    assert lines[-3:] == ["after --help: False", "before a check: 0", "after checks: 1"]
