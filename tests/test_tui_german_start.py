"""The way `make demo` starts the TUI: the `helpdesk` command on the demo database, the language
from the locale (`LANG=de_DE.UTF-8`, a locale this machine need not have) or from `[ui]
language`; the first screen painted without loading Babel."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.tui

# The real command line up to the point where the TUI takes the terminal; the app then runs
# headless at 80×24 and prints its first screen and the Babel modules loaded by then.
PROBE = """
import asyncio, sys
import screens.app
from tests.screen_check import screen_output

def headless(config):
    app = screens.app.HelpdeskApp(config)
    async def first_paint():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            print(screen_output(app)[0])
    asyncio.run(first_paint())
    print("babel:", sorted(m for m in sys.modules if m.split(".")[0] == "babel"))
    return 0

screens.app.run_app = headless
from helpdesk.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    config = folder / "helpdesk.toml"
    # As the Makefile writes it: the database URL only, so `[ui] language` is `auto`.
    config.write_text(f'[database]\nurl = "sqlite:///{folder / "mailcenter.sqlite"}"\n')
    made = run_cli("db", "demo", "--mailboxes", "1500", "--domains", "40", config=config)
    assert made.returncode == 0, made.stderr
    return config


def start(config, **locale: str) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update({"LANG": "C.UTF-8", "PYTHONPATH": str(ROOT), **locale})
    env.pop("HELPDESK_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    screen, _, babel = done.stdout.rpartition("babel: ")
    return screen, babel.strip()


def test_lang_de_starts_the_tui_in_german_without_loading_babel(demo_config):
    screen, babel = start(demo_config, LANG="de_DE.UTF-8")
    assert "Suchbegriff eingeben." in screen, screen
    footer = screen.rstrip("\n").split("\n")[-1]
    assert "Postfach öffnen" in footer and "Tasten" in footer, footer
    assert "Open mailbox" not in screen
    assert babel == "[]"


def test_lc_messages_and_the_configuration_win_over_lang(demo_config):
    screen, babel = start(demo_config, LANG="de_DE.UTF-8", LC_MESSAGES="en_GB.UTF-8")
    assert "Open mailbox" in screen and "Postfach öffnen" not in screen
    assert babel == "[]"
    screen, _ = start(demo_config, LANG="en_GB.UTF-8", LC_ALL="de_AT.UTF-8")
    assert "Postfach öffnen" in screen

    english = demo_config.parent / "english.toml"
    english.write_text(demo_config.read_text() + '[ui]\nlanguage = "en"\n')
    screen, _ = start(english, LANG="de_DE.UTF-8")
    assert "Open mailbox" in screen and "Postfach öffnen" not in screen


def welcome(config, **locale: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update({"LANG": "C.UTF-8", **locale})
    done = subprocess.run(
        [sys.executable, "-m", "stack.welcome", "--config", str(config), "--stack"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_greets_in_the_language_the_tui_will_speak(demo_config):
    german = welcome(demo_config, LANG="de_DE.UTF-8")
    assert german.startswith("Demo bereit: 1.500 Postfächer auf 40 Domains in"), german
    assert "Drei Anrufe zum Ausprobieren (? zeigt die Tasten jeder Ansicht):" in german
    assert "stack-down`" in german  # a command to copy is not broken at its hyphen
    assert all(len(line) <= 80 for line in german.splitlines()), german
    assert "Three calls" not in german
    english = demo_config.parent / "english.toml"
    english.write_text(demo_config.read_text() + '[ui]\nlanguage = "en"\n')
    shown = welcome(english, LANG="de_DE.UTF-8")
    assert shown.startswith("Demo ready: 1,500 mailboxes on 40 domains in"), shown
