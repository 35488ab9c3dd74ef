"""What `helpdesk forward|autoreply show|set|clear` print for a person (not --json): the period
in words, whether it is active now, what was removed. Both commands share these lines
(helpdesk/commands/windowed.py); the database is SQLite, the other two are covered by
tests/test_forward_cli.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from tests.conftest import run_cli

ALICE = "alice@example.org"
LATER = date.today() + timedelta(days=10)


@pytest.fixture
def config(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    with database.begin() as conn:
        create_mailbox(conn, ALICE, realname="Alice")
    database.dispose()
    path = tmp_path / "helpdesk.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mailcenter.sqlite"}"\n'
        '[ui]\nlanguage = "en"\ntimezone = "Europe/Berlin"\n'
    )
    return path


def said(config, *args: str) -> str:
    out = run_cli(*args, config=config)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_forward_says_its_period_and_whether_it_is_active(config):
    assert said(config, "forward", "show", ALICE) == f"{ALICE}: no forward"
    set_text = said(config, "forward", "set", ALICE, "--to", "b@other.example", "--no-copy",
                    "--ticket", "T-1")  # fmt: skip
    assert set_text == f"{ALICE} forwards to b@other.example, always"
    shown = said(config, "forward", "show", ALICE)
    assert shown == f"{ALICE} forwards to b@other.example (keeps no copy), always: active now"

    said(config, "forward", "set", ALICE, "--to", "b@other.example", "--from", str(LATER),
         "--ticket", "T-2")  # fmt: skip
    shown = said(config, "forward", "show", ALICE)
    # Local time in [ui] timezone, with the zone's name (CET or CEST by the date).
    assert shown.startswith(f"{ALICE} forwards to b@other.example (keeps a copy), {LATER} 00:00 ")
    assert shown.endswith(" to …: not active now")

    assert said(config, "forward", "clear", ALICE, "--ticket", "T-3") == f"{ALICE}: forward removed"
    assert said(config, "forward", "show", ALICE) == f"{ALICE}: no forward"


def test_autoreply_says_its_period_and_whether_it_is_active(config):
    assert said(config, "autoreply", "show", ALICE) == f"{ALICE}: no auto-reply"
    set_text = said(config, "autoreply", "set", ALICE, "--until", str(LATER), "--subject", "Away",
                    "--text", "Back soon.", "--ticket", "T-1")  # fmt: skip
    assert set_text.startswith(f"{ALICE} answers automatically, … to {LATER} 23:59 ")
    shown = said(config, "autoreply", "show", ALICE).splitlines()
    assert shown[0].startswith(f"{ALICE}: auto-reply … to {LATER} 23:59 ")
    assert shown[0].endswith(", once per sender per 7 days: active now")
    assert shown[1:] == ["Subject: Away", "", "Back soon."]

    said(config, "autoreply", "set", ALICE, "--from", str(LATER), "--text", "Back soon.",
         "--ticket", "T-2")  # fmt: skip
    assert said(config, "autoreply", "show", ALICE).splitlines()[0].endswith(": not active now")

    removed = said(config, "autoreply", "clear", ALICE, "--ticket", "T-3")
    assert removed == f"{ALICE}: auto-reply removed"


@pytest.mark.parametrize(
    ("lang", "spoken"),
    [("de", "bis einschließlich 15. Januar 2099"), ("en", "until 15 January 2099")],
)
def test_the_example_names_the_day_as_the_customer_reads_it(config, lang, spoken):
    text = said(config, "autoreply", "example", "--until", "2099-01-15", "--lang", lang)
    assert spoken in text and "2099-01-15" not in text
