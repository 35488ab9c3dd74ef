"""The command line in German and English: the same exit codes and the same --json in both,
human output, errors and --help in the chosen language, chosen by --ui-language, `[ui] language`
or the locale."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpdesk.mailcenter.mailboxes import create_mailbox
from tests.conftest import ROOT, run_cli

ADDRESS = "erika.mustermann@gaertnerei-sonnenschein.de"
OTHER = "max.mustermann@gaertnerei-sonnenschein.de"

# (name, arguments, exit code): what an operator runs on a call; the last two fail.
COMMANDS = [
    ("find", ["find", "mustermann"], 0),
    ("find nothing", ["find", "zzzzqqq"], 1),
    ("show", ["show", ADDRESS], 0),
    ("audit", ["audit", "--target", OTHER], 0),
    ("spam show", ["spam", "show", ADDRESS], 0),
    ("unknown mailbox", ["show", "nobody@gaertnerei-sonnenschein.de"], 1),
    ("bad ticket", ["passwd", ADDRESS, "--generate", "--ticket", "not a ticket!"], 1),
]


@pytest.fixture
def mailcenter(db, config_file):
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, realname="Erika Mustermann", customer_ref="KD-100200")
        create_mailbox(conn, OTHER, realname="Max Mustermann", customer_ref="KD-100201")
    # An audit row and a ladder of its own, written the way an operator writes them.
    for args in (
        ["suspend", OTHER, "--ticket", "T-1", "--reason", "spam wave"],
        ["spam", "set", ADDRESS, "--rule", "6:junk", "--allow", "@partner.example",
         "--ticket", "T-2"],
    ):  # fmt: skip
        done = run_cli(*args, config=config_file)
        assert done.returncode == 0, done.stderr
    return config_file


def run_all(config: Path, calls: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Each call as its own process; they only read (the bad ticket writes nothing), so at once."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda args: run_cli(*args, config=config), calls))


def test_both_languages_give_the_same_exit_codes_and_the_same_json(mailcenter):
    calls = [
        ["--ui-language", lang, *args, *json_flag]
        for _name, args, _code in COMMANDS
        for lang in ("en", "de")
        for json_flag in ([], ["--json"])
    ]
    results = iter(run_all(mailcenter, calls))
    for name, _args, code in COMMANDS:
        en, en_json, de, de_json = (next(results) for _ in range(4))
        assert [en.returncode, en_json.returncode, de.returncode, de_json.returncode] == [
            code
        ] * 4, (name, en.stderr, de.stderr)
        assert de_json.stdout == en_json.stdout, name
        if code == 0:
            json.loads(de_json.stdout)
        assert de.stdout + de.stderr != en.stdout + en.stderr, f"{name}: German is English"
        if en.stderr:
            # A failure is one line in either language.
            assert len(de.stderr.splitlines()) == 1 and de.stderr.startswith("helpdesk: ")
            assert de_json.stderr == de.stderr and en_json.stderr == en.stderr, name


# The language does not depend on the database: the tests below run on SQLite only.
SQLITE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


@SQLITE
def test_german_human_output_and_errors(mailcenter):
    names = [name for name, _args, _code in COMMANDS]
    out = dict(
        zip(
            names,
            run_all(mailcenter, [["--ui-language", "de", *a] for _n, a, _c in COMMANDS]),
            strict=True,
        )
    )
    assert out["find"].stdout.splitlines()[-1] == "2 Treffer"
    assert out["find nothing"].stdout == "0 Treffer\n"
    show = out["show"].stdout
    assert "Adresse                erika.mustermann@gaertnerei-sonnenschein.de" in show
    assert "darf senden            ja" in show and "Kundennummer           KD-100200" in show
    audit = out["audit"].stdout
    assert "suspend" in audit and "T-1" in audit and "Grund: spam wave" in audit
    spam = out["spam show"].stdout
    assert "  erlaubt: @partner.example" in spam and "  gesperrt: -" in spam
    assert out["unknown mailbox"].stderr == (
        "helpdesk: kein Postfach nobody@gaertnerei-sonnenschein.de\n"
    )
    assert "Ticketnummer" in out["bad ticket"].stderr
    # The English is still the English.
    english = run_cli("show", ADDRESS, config=mailcenter).stdout
    assert "smtp_enabled           yes" in english and "darf senden" not in english


@SQLITE
def test_german_from_the_configuration_and_from_the_locale(mailcenter):
    plain = mailcenter.read_text()
    mailcenter.write_text(plain + '[ui]\nlanguage = "de"\n')
    assert run_cli("find", "mustermann", config=mailcenter).stdout.endswith("2 Treffer\n")
    assert run_cli("find", "--help", config=mailcenter).stdout.startswith("Aufruf: helpdesk find")
    # --ui-language wins over the file
    english = run_cli("--ui-language", "en", "find", "mustermann", config=mailcenter)
    assert english.stdout.endswith("2 matches\n")

    mailcenter.write_text(plain + '[ui]\nlanguage = "auto"\n')
    german = run_cli("find", "mustermann", config=mailcenter, env={"LANGUAGE": "de_DE.UTF-8"})
    assert german.stdout.endswith("2 Treffer\n")
    c_locale = run_cli("find", "mustermann", config=mailcenter, env={"LANGUAGE": "", "LC_ALL": "C"})
    assert c_locale.stdout.endswith("2 matches\n")


@pytest.mark.parametrize("value", ['"fr"', "1"])
def test_a_bad_ui_language_is_one_line_naming_the_key(tmp_path, value):
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "m.sqlite"}"\n[ui]\nlanguage = {value}\n'
    )
    out = run_cli("find", "mustermann", config=config)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"helpdesk: {config}: [ui] language must be de, en or auto\n"
    # In German too, when the locale asks for it.
    german = run_cli("find", "mustermann", config=config, env={"LANGUAGE": "de_DE.UTF-8"})
    assert german.returncode == 2
    assert german.stderr == f"helpdesk: {config}: [ui] language muss de, en oder auto sein\n"


def test_help_in_german_with_argparse_texts(tmp_path):
    main = run_cli("--ui-language", "de", "--help")
    assert main.returncode == 0
    assert main.stdout.startswith("Aufruf: helpdesk ")
    assert "Optionen:" in main.stdout and "diese Hilfe zeigen und beenden" in main.stdout
    assert "Postfächer finden" in main.stdout and "usage:" not in main.stdout
    for command in (["find"], ["show"], ["audit"], ["passwd"], ["spam", "set"], ["db", "demo"]):
        out = run_cli("--ui-language", "de", *command, "--help")
        assert out.returncode == 0 and out.stdout.startswith("Aufruf: "), command
        assert "show this help message" not in out.stdout, command
    passwd = run_cli("--ui-language", "de", "passwd", "--help").stdout
    assert "Sprache des Kunden für die Buchstabiertafel" in passwd
    # The English help is untouched.
    english = run_cli("--ui-language", "en", "find", "--help").stdout
    assert english.startswith("usage: helpdesk find") and "options:" in english

    # argparse's own errors: German, still one line after the usage, still `helpdesk...:`.
    missing = run_cli("--ui-language", "de", "find")
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[-1] == (
        "helpdesk find: Fehler: folgende Argumente fehlen: query"
    )
    unknown = run_cli("--ui-language", "de", "find", "x", "--colour")
    assert unknown.stderr.splitlines()[-1] == "helpdesk: Fehler: unbekannte Argumente: --colour"
    choice = run_cli("--ui-language", "de", "passwd", ADDRESS, "--generate", "--lang", "fr")
    assert "passwd: Fehler: Argument --lang: ungültige Wahl: 'fr' (möglich: " in choice.stderr
    value = run_cli("--ui-language", "de", "find", "x", "--limit")
    assert value.stderr.splitlines()[-1] == (
        "helpdesk find: Fehler: Argument --limit: ein Argument erwartet"
    )


def test_help_does_not_load_babel():
    # Babel formats numbers and dates, on first use only: never for --help, in either language.
    probe = (
        "import sys\n"
        "from helpdesk.cli import main\n"
        "for lang in ('de', 'en'):\n"
        "    try:\n"
        "        main(['--ui-language', lang, '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    try:\n"
        "        main(['--ui-language', lang, 'passwd', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m == 'babel' or m.startswith('babel.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "Aufruf: helpdesk" in out.stdout  # the German help was really printed
    assert out.stdout.splitlines()[-1] == "[]"


@SQLITE
def test_passwd_spells_in_the_customers_language(mailcenter):
    with mailcenter.open("a") as fh:
        fh.write("[passwords]\nrounds = 5000\n")

    def generate(ui: str, *options: str) -> str:
        done = run_cli("--ui-language", ui, "passwd", ADDRESS, "--generate", "--ticket", "T-7",
                       *options, config=mailcenter)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    # An English-speaking operator with a German customer, and the other way round.
    german = generate("en", "--lang", "de")
    assert "Spelling (DIN 5009), the parts joined by - (Bindestrich):" in german
    english = generate("de", "--lang", "en")
    assert "Buchstabiert (NATO), die Teile verbunden mit - (Dash):" in english
    password = english.split("gezeigt):", 1)[1].split()[0]
    digits = password.rsplit("-", 1)[1]
    names = {"0": "Zero", "1": "One", "2": "Two", "3": "Three", "4": "Four", "5": "Five",
             "6": "Six", "7": "Seven", "8": "Eight", "9": "Niner"}  # fmt: skip
    assert f"    {digits}: " + " ".join(names[d] for d in digits) in english
    # Without --lang: the operator's language.
    assert "Buchstabiert (DIN 5009)" in generate("de")
    assert "Spelling (NATO)" in generate("en")
    # --json: the configured alphabet whatever the UI language (English shows NATO above), the
    # asked one with --lang.
    data = json.loads(generate("en", "--json"))
    assert data["spelling"][-3] == "Bindestrich", data["spelling"]
    data = json.loads(generate("de", "--json", "--lang", "en"))
    assert data["spelling"][-3] == "Dash", data["spelling"]


def test_json_of_an_unreachable_rspamd_is_the_same_in_both_languages(tmp_path):
    # Two controllers on a port where nothing listens: the errors travel in --json, in
    # English, whatever the operator reads.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "m.sqlite"}"\n[rspamd]\ncontrollers = [\n'
        f'  {{ name = "eins", url = "http://127.0.0.1:{port}" }},\n'
        f'  {{ name = "zwei", url = "http://127.0.0.1:{port}" }},\n]\n'
    )
    assert run_cli("db", "init", config=config).returncode == 0
    empty = tmp_path / "mainlog"
    empty.write_text("")
    for command in (["rspamd", "status"], ["blocked", "--log", str(empty)]):
        en = run_cli("--ui-language", "en", *command, "--json", config=config)
        de = run_cli("--ui-language", "de", *command, "--json", config=config)
        assert en.returncode == de.returncode, (command, en.stderr, de.stderr)
        assert de.stdout == en.stdout, command
        data = json.loads(en.stdout)
        text = json.dumps(data)
        assert "eins" in text and "zwei" in text, text
        assert de.stderr != en.stderr, (command, de.stderr)
