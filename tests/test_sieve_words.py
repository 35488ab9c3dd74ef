"""A customer's own Sieve rules in plain words (helpdesk/forwards/rules_words.py), read by a
real Sieve parser; global sieve_before/sieve_after scripts found through a real `doveconf`;
the CLI's text for a script the parser cannot read. Every script here also compiles with
Pigeonhole's `sievec`, so the words describe scripts Dovecot really runs."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from helpdesk.forwards.chain import Script, global_locations, scripts_at
from helpdesk.forwards.rules_words import read_rules
from helpdesk.i18n import M
from tests.hostile import VALUES, assert_clean

FILED = (
    'require ["fileinto", "mailbox"];\n'
    'if header :contains "subject" "forward test" { fileinto :create "Customer"; }\n'
)
SENDERS = (
    'if address :is "from" ["x@y.example", "z@w.example"] { discard; stop; }\n'
    'redirect "boss@firma.example";\n'
)
COPY = 'require "copy";\nredirect :copy "a@b.example";\n'
VACATION = (
    'require "vacation";\n'
    'vacation :days 3 :subject "Im Urlaub" :addresses ["me@firma.example"] text:\n'
    "I am away until the 15th.\n"
    "..\n"
    ".\n"
    ";\n"
)
REJECT = 'require "reject";\nif size :over 2M { reject "too large"; }\n'
NESTED = (
    'require ["fileinto", "envelope"];\n'
    'if anyof (allof (header :contains "subject" "invoice", not exists "x-trusted"),\n'
    '          envelope :domain :is "from" "bad.example") {\n'
    '  fileinto "Suspect";\n'
    "} elsif size :under 10K { keep; if true { stop; } } else { discard; }\n"
)
NUMERIC = (
    'require ["relational", "comparator-i;ascii-numeric", "fileinto"];\n'
    'if header :value "ge" :comparator "i;ascii-numeric" "X-Spam-Score" "6" { fileinto "Junk"; }\n'
)
BROKEN = 'require "fileinto";\nif header :contains "subject" "x" { fileinto "y"\n'


def english(script: str) -> list[str]:
    reading = read_rules(script)
    assert reading.understood, reading.error
    return [("  " * depth) + words for depth, words in reading.lines("en")]


def test_fileinto_with_its_condition():
    assert english(FILED) == ["if the subject contains “forward test”: file into folder “Customer”"]


def test_sender_list_discard_stop_and_an_unconditional_redirect():
    assert english(SENDERS) == [
        "if the sender (From) is one of “x@y.example”, “z@w.example”: discard (deleted without "
        "notice); stop (the rest of this script is skipped)",
        "always: redirect to boss@firma.example",
    ]


def test_redirect_keeping_a_copy():
    assert english(COPY) == ["always: redirect to a@b.example (keep a copy)"]


def test_vacation_with_days_subject_and_multiline_text():
    (words,) = english(VACATION)
    assert words == (
        "always: auto-reply at most once in 3 days per sender, subject “Im Urlaub”: "
        "“I am away until the 15th. .”"
    )
    rule = read_rules(VACATION).as_json()["rules"][0]
    assert rule["actions"][0]["reason"] == "I am away until the 15th.\n."
    assert rule["actions"][0]["days-argument"] == "3"
    assert rule["actions"][0]["subject-argument"] == "Im Urlaub"


def test_reject_on_size():
    assert english(REJECT) == [
        "if the message is larger than 2 MB: reject, telling the sender “too large”"
    ]


def test_nested_anyof_allof_not_envelope_elsif_else_and_an_inner_if():
    assert english(NESTED) == [
        "if (the subject contains “invoice” and not (the header “x-trusted” is present)) or the "
        "domain of the envelope sender is “bad.example”: file into folder “Suspect”",
        "else if the message is smaller than 10 KB: keep in the inbox",
        "  if always: stop (the rest of this script is skipped)",
        "otherwise: discard (deleted without notice)",
    ]


def test_numeric_comparison_of_a_spam_score():
    assert english(NUMERIC) == [
        "if the header “X-Spam-Score” is at least “6”: file into folder “Junk”"
    ]


def test_german_words():
    reading = read_rules(FILED)
    assert reading.lines("de") == [
        (0, "wenn gilt: der Betreff enthält „forward test“ → in den Ordner „Customer“ ablegen")
    ]
    reading = read_rules(COPY)
    assert reading.lines("de") == [(0, "immer: an a@b.example weiterleiten (Kopie bleibt)")]


def test_json_carries_the_structure_exactly():
    data = read_rules(NESTED).as_json()
    assert data["understood"] is True and data["extensions"] == ["fileinto", "envelope"]
    first = data["rules"][0]
    assert first["when"] == "if"
    assert first["condition"]["test"] == "anyof"
    allof, envelope = first["condition"]["tests"]
    assert allof["tests"][0] == {"test": "header", "match-type": "contains",
                                 "header-names": "subject", "key-list": "invoice"}  # fmt: skip
    exists = {"test": "exists", "header-names": "x-trusted"}
    assert allof["tests"][1] == {"test": "not", "tests": [exists]}
    assert envelope["address-part"] == "domain" and envelope["key-list"] == "bad.example"
    assert first["actions"] == [{"action": "fileinto", "mailbox": "Suspect"}]
    assert data["rules"][1]["rules"][0]["actions"] == [{"action": "stop"}]
    assert first["text_message"]["id"] == "if {condition}: {actions}"
    json.dumps(data)


def test_a_script_with_a_syntax_error_is_not_understood():
    reading = read_rules(BROKEN)
    assert not reading.understood and reading.rules == ()
    assert "line" in reading.error
    assert read_rules("if true { keep").understood is False


def test_the_cli_shows_an_unreadable_script_as_text_with_the_note():
    from helpdesk.commands.sieve_rules import script_lines

    script = Script("own", "personal", BROKEN, M("nothing"), read_rules(BROKEN))
    out = script_lines(script)
    assert out[0].startswith("## Not understood (line ")
    assert out[1:] == BROKEN.splitlines()
    out = script_lines(Script("own", "personal", FILED, M("nothing"), read_rules(FILED)))
    assert out[:3] == [
        "## In plain words:",
        "  - if the subject contains “forward test”: file into folder “Customer”",
        "## The script:",
    ]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_hostile_strings_become_plain_words(name):
    value = VALUES[name].replace("\\", "\\\\").replace('"', '\\"')
    script = (
        'require ["fileinto", "vacation"];\n'
        f'if header :contains "{value}" "{value}" {{ fileinto "{value}"; }}\n'
        f'redirect "{value}";\n'
        f'vacation :subject "{value}" "{value}";\n'
    )
    reading = read_rules(script)
    assert reading.understood, reading.error
    for lang in ("en", "de"):
        for _, words in reading.lines(lang):
            assert_clean(words, where=f"{name} {lang}")
            assert len(words) < 600
    # --json keeps the value as the script has it.
    # (A script read from doveadm is decoded text: a lone surrogate cannot reach the parser.)
    exact = VALUES[name].encode("utf-8", "replace").decode("utf-8")
    assert reading.as_json()["rules"][0]["actions"][0]["mailbox"] == exact


def test_many_rules_are_cut_with_a_count():
    script = "".join(f'if header :is "subject" "{n}" {{ keep; }}\n' for n in range(250))
    lines = read_rules(script).lines("en")
    assert len(lines) == 201 and lines[-1] == (0, "… 50 more rules")


@pytest.mark.parametrize(
    "script", [FILED, SENDERS, COPY, VACATION, REJECT, NESTED, NUMERIC], ids=lambda s: s[:20]
)
def test_every_script_here_compiles_with_pigeonhole(tmp_path, script):
    sievec = shutil.which("sievec")
    assert sievec, "sievec (dovecot-sieve) is needed"
    path = tmp_path / "s.sieve"
    path.write_text(script)
    done = subprocess.run([sievec, str(path)], capture_output=True, text=True, timeout=30,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_global_scripts_in_pigeonholes_order_from_a_real_doveconf(tmp_path):
    doveconf = shutil.which("doveconf")
    assert doveconf, "doveconf (dovecot-core) is needed"
    after = tmp_path / "after.d"
    after.mkdir()
    (after / "20-b.sieve").write_text("discard;\n")
    (after / "10-a.sieve").write_text(FILED)
    (after / "notes.txt").write_text("not a script")
    (tmp_path / "before.sieve").write_text(BROKEN)
    conf = tmp_path / "dovecot.conf"
    conf.write_text(
        "plugin {\n"
        "  sieve_before = dict:proxy::helpdesk_spam;name=helpdesk-spam\n"
        f"  sieve_before2 = file:{tmp_path / 'before.sieve'};bindir=/nowhere\n"
        f"  sieve_after = {after}\n"
        "  sieve_after2 = ldap:/etc/dovecot/sieve-ldap.conf\n"
        f"  sieve_after3 = {tmp_path / 'missing.sieve'}\n"
        "}\n"
    )
    places = global_locations((doveconf, "-c", str(conf)))
    assert places["before"][0].startswith("dict:proxy::helpdesk_spam")
    assert places["before"][1] == f"file:{tmp_path / 'before.sieve'};bindir=/nowhere"
    assert places["after"] == [str(after), "ldap:/etc/dovecot/sieve-ldap.conf",
                               str(tmp_path / "missing.sieve")]  # fmt: skip
    before = scripts_at(places["before"][1], "before")
    assert [s.name for s in before] == ["before.sieve"]
    assert before[0].reading is not None and not before[0].reading.understood
    files = scripts_at(str(after), "after")
    assert [s.name for s in files] == ["10-a.sieve", "20-b.sieve"]
    assert files[0].reading.lines("en")[0][1].startswith("if the subject contains")
    assert "sieve_after" in files[0].note.english()
    ldap = scripts_at(places["after"][1], "after")
    assert ldap[0].note.english() == "not read: only file locations are read"
    missing = scripts_at(places["after"][2], "after")
    assert missing[0].note.english().startswith("cannot be read here: ")


def test_a_failing_doveconf_is_one_clear_line(tmp_path):
    from helpdesk.errors import PolicyError

    doveconf = shutil.which("doveconf")
    assert doveconf
    with pytest.raises(PolicyError) as caught:
        global_locations((doveconf, "-c", str(tmp_path / "absent.conf")))
    assert str(caught.value).startswith("[sieve] doveconf_command failed: ")
    assert "\n" not in str(caught.value)


def test_the_cli_lists_sieve_after_scripts_in_words_or_says_they_were_not_read(tmp_path):
    from helpdesk.mailcenter.db import Database
    from helpdesk.mailcenter.mailboxes import create_mailbox
    from tests.conftest import run_cli

    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, "kunde@firma.example", password_hash="x", realname="Kunde")
    db.dispose()
    plain = tmp_path / "plain.toml"
    plain.write_text(f'[database]\nurl = "{url}"\n')
    out = run_cli("sieve", "kunde@firma.example", config=plain)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "kunde@firma.example: no Sieve script runs",
        "# sieve_before/sieve_after scripts not read: [sieve] doveconf_command is not set",
    ]

    after = tmp_path / "after.d"
    after.mkdir()
    (after / "10-a.sieve").write_text(COPY)
    (after / "20-b.sieve").write_text(BROKEN)
    conf = tmp_path / "dovecot.conf"
    conf.write_text(f"plugin {{\n  sieve_after = {after}\n}}\n")
    doveconf = shutil.which("doveconf")
    assert doveconf, "doveconf (dovecot-core) is needed"
    read = tmp_path / "read.toml"
    read.write_text(
        plain.read_text() + f'\n[sieve]\ndoveconf_command = ["{doveconf}", "-c", "{conf}"]\n'
    )
    out = run_cli("sieve", "kunde@firma.example", config=read)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("# 1. 10-a.sieve (a global script after the customer's (sieve_a")
    assert lines[1:3] == ["## In plain words:", "  - always: redirect to a@b.example (keep a copy)"]
    assert "# 2. 20-b.sieve (" in out.stdout and "## Not understood (line " in out.stdout
    assert "not read" not in out.stdout
    out = run_cli("sieve", "kunde@firma.example", "--json", config=read)
    data = json.loads(out.stdout)
    assert data["global_scripts_read"] is True
    assert [(s["source"], s["name"], s["understood"]) for s in data["scripts"]] == [
        ("after", "10-a.sieve", True),
        ("after", "20-b.sieve", False),
    ]
    assert data["scripts"][0]["location"] == str(after)
    assert data["scripts"][0]["rules"][0]["actions"] == [
        {"action": "redirect", "copy": True, "address": "a@b.example"}
    ]
