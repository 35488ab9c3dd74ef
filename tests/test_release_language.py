"""The release explanation the operator reads out (issue 14, item 4): in the customer's
language, chosen per call and independently of the operator's. Every message here is really
refused by the stack's Exim and rspamd, released through the CLI or the dialog, and (for the
CLI) really passes afterwards, as the text tells the customer."""

from __future__ import annotations

import json
import os

import pytest
from textual.widgets import Static

from helpdesk.config import load_config
from helpdesk.i18n import set_language
from helpdesk.mailcenter.db import Database
from helpdesk.rspamd.releases import list_releases
from screens.app import HelpdeskApp
from screens.blocked import BlockedScreen
from screens.dialogs.release import ReleaseDialog
from tests.conftest import run_cli
from tests.rspamd_tools import new_message_id
from tests.smtp_tools import message, submit

pytestmark = pytest.mark.stack
PASSWORD = "Kunden-Passwort-14!"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def _blocked(stack, prefix: str) -> tuple[str, str, str, object]:
    """A customer whose message was just refused: (address, Message-ID, subject, message)."""
    tag = os.urandom(4).hex()
    user = stack.add_mailbox(f"{prefix}.{tag}@firma.test", PASSWORD)
    mid = new_message_id(prefix)
    subject = f"Angebot {tag} HELPDESK-TEST-SPAM"
    spam = message(user, mid, subject)
    assert submit(stack, user, PASSWORD, spam) == 550
    return user, mid, subject, spam


def _cli(stack, *args: str):
    return run_cli(*args, config=stack.config_path)


def test_english_operator_reads_a_german_customer_the_release(stack):
    user, mid, subject, spam = _blocked(stack, "lang-de")
    out = _cli(
        stack, "--ui-language", "en", "release", f"<{mid}>", "--user", user,
        "--ticket", "T-14", "--ttl", "2h", "--lang", "de",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    # The operator's own line in English, the customer's text in German, formal.
    assert "may pass once within 2h" in out.stdout
    assert "For the customer (Deutsch):" in out.stdout
    said = " ".join(out.stdout.split("For the customer (Deutsch):")[1].split())
    assert said.startswith(f"Ihre Nachricht „{subject}“ wurde freigegeben.")
    assert "Bitte senden Sie sie innerhalb von 2 Stunden (bis " in said
    assert "noch einmal unverändert ab; sie geht dann einmal durch." in said
    # What the customer was told holds: sent again unchanged, it goes out, once.
    assert submit(stack, user, PASSWORD, spam) == 250
    assert submit(stack, user, PASSWORD, spam) == 550


def test_german_operator_reads_an_english_customer_the_release(stack):
    user, mid, subject, spam = _blocked(stack, "lang-en")
    out = _cli(
        stack, "--ui-language", "de", "release", f"<{mid}>", "--user", user,
        "--ticket", "T-14", "--ttl", "2d", "--uses", "3", "--lang", "en",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Für den Kunden (English):" in out.stdout
    assert "For the customer" not in out.stdout and "Ihre Nachricht" not in out.stdout
    said = " ".join(out.stdout.split("Für den Kunden (English):")[1].split())
    assert said.startswith(f"Your message “{subject}” has been released.")
    assert "Please send it again, unchanged, within 2 days (by " in said
    assert "it may then go out up to 3 times. A changed message is checked again." in said
    assert submit(stack, user, PASSWORD, spam) == 250


def test_without_lang_the_customer_hears_the_operators_language(stack):
    """Released by its digest (no subject known): the text without the subject, in German."""
    user, mid, _subject, _spam = _blocked(stack, "lang-ui")
    listed = json.loads(_cli(stack, "blocked", "--user", user, "--json").stdout)["blocked"]
    (entry,) = listed
    out = _cli(
        stack, "--ui-language", "de", "release", "--digest", entry["digest"], "--user", user,
        "--ticket", "T-14", "--ttl", "30m",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    said = " ".join(out.stdout.split("Für den Kunden (Deutsch):")[1].split())
    assert said.startswith("Ihre Nachricht wurde freigegeben. Bitte senden Sie sie innerhalb von")
    assert "30 Minuten" in said
    # --json is the same as ever: no customer text, nothing in German.
    again = _cli(stack, "--ui-language", "de", "releases", "--user", user, "--json")
    assert "Ihre Nachricht" not in again.stdout


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def _customer_text(app) -> str:
    return " ".join(str(app.screen.query_one("#release-customer", Static).render()).split())


async def test_f8_in_the_release_dialog_switches_only_the_customer_text(stack):
    user, mid, subject, _spam = _blocked(stack, "lang-tui")
    db = Database(stack.database_url)
    app = HelpdeskApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash", *user.split("@")[0], "tab")
        await settle(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReleaseDialog)
        # Without a choice: the operator's language.
        assert _customer_text(app).startswith("To read out (English, F8 switches): Your message")
        assert f"“{subject}”" in _customer_text(app)
        await pilot.press("f8")
        await pilot.pause()
        text = _customer_text(app)
        assert text.startswith("To read out (Deutsch, F8 switches): Ihre Nachricht")
        assert "innerhalb von 4 Stunden (bis " in text
        # The operator's own texts stay English; F8 confirmed nothing.
        assert str(dialog.query_one("#dialog-title").render()) == "Release this message"
        assert app.screen is dialog
        # The copies typed change what the customer is told, in the customer's language.
        await pilot.press(*"T-14", "enter", "enter", "enter", "backspace", "3")
        await pilot.pause()
        assert "bis zu 3-mal durch" in _customer_text(app)
        await pilot.press("f8")
        await pilot.pause()
        assert "it may then go out up to 3 times" in _customer_text(app)
        await pilot.press("escape")
        await pilot.pause()
    with db.connect() as conn:
        assert list_releases(conn, address=user) == []
    db.dispose()
