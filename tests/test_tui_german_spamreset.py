"""The Spam tab and the reset dialog in German at 80×24: every text that carries meaning is on
screen whole; the reset dialog's F8 switches the spelled password between the German and the
English alphabet while the operator's own language stays; a language switch keeps the password
that is shown once."""

from __future__ import annotations

import re
import threading

import pytest
from textual.widgets import DataTable, Input, Static

from helpdesk.config import Config
from helpdesk.i18n import _, language, set_language
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, password_hash
from helpdesk.passwords.policy import PasswordSettings, hash_password, verify_password
from helpdesk.passwords.spelling import spell
from screens.app import HelpdeskApp
from screens.dialogs.prompt import PromptDialog
from screens.mailbox import MailboxScreen
from screens.reset import ResetPasswordScreen
from screens.spam import SpamTab
from tests.screen_check import screen_output
from tests.test_spam_tui import write_log

pytestmark = pytest.mark.tui

ADDRESS = "k.schaefer@baeckerei-koeln.de"
OLD = "Alt-Passwort-Birne-77"
# What the Spam tab must show whole in German (the hint line is the longest at 80 columns).
# Borders and button edges, not text: a wrapped line continues past them.
_FRAME = re.compile("[█▊▎▐▌▔▁▀▄│╭╮╰╯─]")
SPAM_KEYS = "a neu  x weg  ⇧↑↓ Reihe  +/− 0,5  l erlauben  b sperren  i Vorgabe  ^s sichern"


@pytest.fixture
def sqlite_db(tmp_path):
    """The layout does not depend on the server: one SQLite database is enough here."""
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(
            conn,
            ADDRESS,
            realname="Käthe Schäfer",
            customer_ref="KD-4711",
            password_hash=hash_password(OLD, PasswordSettings(rounds=5000)),
        )
    yield db
    db.dispose()


@pytest.fixture
def german():
    set_language("de")
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def make_app(db: Database, log=None) -> HelpdeskApp:
    settings: dict = {
        "database": {"url": db.url.render_as_string(hide_password=False)},
        "passwords": {"rounds": 5000},
    }
    if log is not None:
        settings["sendlog"] = {"paths": [str(log)]}
    return HelpdeskApp(Config(None, settings), db=db)


async def settle(app, pilot) -> None:
    for _round in range(2):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def rows(app) -> list[str]:
    return screen_output(app)[0].split("\n")


def seen_in(app, widget) -> str:
    """What the terminal shows inside `widget`'s region, its lines joined: a text that wraps
    is still whole here, a text cut at the edge is not."""
    region = widget.region
    shown = [_FRAME.sub(" ", row[region.x : region.right]) for row in rows(app)]
    return " ".join(" ".join(row.split()) for row in shown[region.y : region.bottom])


def stored(db: Database) -> str:
    with db.connect() as conn:
        return password_hash(conn, get_mailbox(conn, ADDRESS))


# --- the Spam tab ---------------------------------------------------------------------------


async def test_spam_tab_in_german_shows_every_text_whole(sqlite_db, tmp_path, german):
    log = tmp_path / "mainlog"
    write_log(log)
    app = make_app(sqlite_db, log)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ADDRESS))
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        tab = app.screen.query_one(SpamTab)
        tab.query_one("#spam-ladder", DataTable).focus()
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, PromptDialog)
        # The example of the rule syntax fits its field whole.
        assert "SCORE:AKTION[:ARG] …, z. B. 6:junk 12:delete" in "\n".join(rows(app))
        await pilot.press(*"6:junk 7:forward:hilfe@baeckerei.de 12:delete", "enter")
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        await pilot.press(*"news@x.example", "enter")
        await settle(app, pilot)

        lines = rows(app)
        text = "\n".join(lines)
        assert SPAM_KEYS in text and len(SPAM_KEYS) <= 78
        status = seen_in(app, tab.query_one("#spam-state"))
        assert "eigene Stufen · ungespeicherte Änderungen" in status, status
        # Column titles, and the words in the cells, in German and whole.
        header = next(line for line in lines if " Ab " in line)
        assert re.search(r"Ab\s+Aktion\s+Liste\s+Absender", header), header
        preview_header = next(line for line in lines if "Wohin" in line)
        assert re.search(r"Score\s+Wohin\s+Absender\s+Betreff", preview_header)
        ladder = "\n".join(line for line in lines if re.match(r"\s+\d+\.\d\s{2}", line))
        assert "Junk" in ladder and "löschen" in ladder
        assert "weiter → hilfe@baeckerei.de" in ladder
        assert re.search(r"erlaubt\s+news@x\.example", text)
        placed = [line for line in lines if re.match(r"\s+11-27 09:0\d", line)]
        assert len(placed) == 5
        assert any("gelöscht" in line for line in placed)
        assert sum("Eingang" in line for line in placed) == 2
        assert any("Junk +weiter" in line for line in placed)
        # The footer names the tab's keys in German.
        assert "Regel neu" in lines[-1] and "Add rule" not in lines[-1], lines[-1]
        # The keys are the same in both languages.
        await pilot.press("i")
        await settle(app, pilot)
        assert "geerbt von" in seen_in(app, tab.query_one("#spam-state"))


# --- the reset dialog -----------------------------------------------------------------------


async def open_dialog(app, pilot) -> ResetPasswordScreen:
    app.push_screen(MailboxScreen(ADDRESS))
    await settle(app, pilot)
    await pilot.press("p")
    await settle(app, pilot)
    assert isinstance(app.screen, ResetPasswordScreen)
    return app.screen


async def generate(app, pilot, dialog: ResetPasswordScreen, ticket: str = "T-4711") -> str:
    dialog.query_one("#reset-ticket", Input).focus()
    await pilot.press(*ticket, "f2")
    await settle(app, pilot)
    assert dialog.query_one("#reset-result").display
    return str(dialog.query_one("#result-password", Static).render()).strip()


def spelled_lines(dialog: ResetPasswordScreen) -> list[str]:
    return str(dialog.query_one("#result-spelling", Static).render()).splitlines()


async def test_reset_dialog_in_german_shows_every_text_whole(sqlite_db, german):
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        dialog.query_one("#mode-type").value = True
        await settle(app, pilot)
        await pilot.press(*"Sommer2016!")
        await settle(app, pilot)
        form = seen_in(app, dialog.query_one("#reset-form"))
        for whole in (
            f"Passwort zurücksetzen · {ADDRESS}",
            "Passphrase erzeugen",
            "Selbst eingeben",
            "Kunde muss das Passwort bei der nächsten Anmeldung ändern",
            "Kunde: Deutsch (F8 wechselt)",
            "Abbrechen [Esc]",
            "mittel · 3 nötig",
            f"{_('Reset password')} [F2]",
        ):
            assert whole in form, (whole, form)
        for selector in ("#reset-ticket", "#reset-password", "#reset-force", "#reset-confirm"):
            region = dialog.query_one(selector).region
            assert region.height > 0 and region.bottom <= 24 and region.right <= 80, selector

        dialog.query_one("#mode-generate").value = True
        await settle(app, pilot)
        password = await generate(app, pilot, dialog)
        result = seen_in(app, dialog.query_one("#reset-result"))
        for whole in (
            f"Neues Passwort für {ADDRESS} · jetzt vorlesen · Wechsel bei der nächsten Anmeldung",
            password,
            "Kunde: Deutsch (F8 wechselt)",
            "DIN 5009 · zwischen den Teilen: - (Bindestrich)",
            "c kopieren · Enter oder Esc schließt (wird nicht wieder gezeigt)",
            "Fertig",
        ):
            assert whole in result, (whole, result)
        # Every part of the passphrase on its own line, spelled whole.
        for spelled in spelled_lines(dialog)[1:]:
            assert spelled in result, (spelled, result)
        region = dialog.query_one("#reset-result").region
        assert region.bottom <= 24 and region.right <= 80


async def test_f8_switches_the_customer_alphabet_not_the_operator_language(sqlite_db, german):
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        before = stored(sqlite_db)
        # In the ticket field with a valid ticket: F8 types nothing and confirms nothing.
        await pilot.press(*"T-4711", "f8")
        await settle(app, pilot)
        assert dialog.query_one("#reset-ticket", Input).value == "T-4711"
        assert not dialog.query_one("#reset-result").display and stored(sqlite_db) == before
        assert "Kunde: English (F8 wechselt)" in seen_in(app, dialog.query_one("#reset-form"))
        await pilot.press("f8")
        await settle(app, pilot)
        assert "Kunde: Deutsch (F8 wechselt)" in seen_in(app, dialog.query_one("#reset-form"))

        password = await generate(app, pilot, dialog, ticket="")
        assert verify_password(password, stored(sqlite_db))
        first = password.split("-")[0]
        german_lines = spelled_lines(dialog)
        assert german_lines[0].startswith("DIN 5009 · zwischen den Teilen")
        assert f"{first}: " + " ".join(spell(first, "din5009")) in german_lines

        await pilot.press("f8")
        await settle(app, pilot)
        english = spelled_lines(dialog)
        # The alphabet is the customer's; the words around it stay the operator's.
        assert english[0] == "NATO · zwischen den Teilen: - (Dash)", english[0]
        assert f"{first}: " + " ".join(spell(first, "nato")) in english
        assert not any("Bindestrich" in line for line in english)
        result = seen_in(app, dialog.query_one("#reset-result"))
        assert "Kunde: English (F8 wechselt)" in result
        assert "Neues Passwort für" in result and language() == "de"
        # Still the same password, set once.
        assert str(dialog.query_one("#result-password", Static).render()).strip() == password
        await pilot.press("f8")
        await settle(app, pilot)
        assert spelled_lines(dialog) == german_lines


async def test_english_operator_spells_for_a_german_customer(sqlite_db):
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        await pilot.press("f8")
        await settle(app, pilot)
        password = await generate(app, pilot, dialog)
        first = password.split("-")[0]
        lines = spelled_lines(dialog)
        assert lines[0] == "DIN 5009 · between the parts: - (Bindestrich)", lines[0]
        assert f"{first}: " + " ".join(spell(first, "din5009")) in lines
        result = seen_in(app, dialog.query_one("#reset-result"))
        assert "Customer: Deutsch (F8 switches)" in result and "read it out now" in result


async def test_language_switch_keeps_the_password_shown_once(sqlite_db):
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        await pilot.press("f8")  # a German customer
        password = await generate(app, pilot, dialog)
        app.switch_language("de")
        await settle(app, pilot)
        fresh = app.screen
        assert isinstance(fresh, ResetPasswordScreen) and fresh is not dialog
        result = seen_in(app, fresh.query_one("#reset-result"))
        assert password in result and "jetzt vorlesen" in result
        assert "Kunde: Deutsch (F8 wechselt)" in result
        assert "DIN 5009 · zwischen den Teilen: - (Bindestrich)" in result
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == password
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        assert fresh._password is None and app.clipboard == ""


async def test_language_switch_during_a_reset_still_shows_its_password(sqlite_db, monkeypatch):
    import screens.reset as module

    # The reset waits until the switch is done: a slow database, made on purpose.
    release = threading.Event()
    real = module.reset

    def slow_reset(*args):
        assert release.wait(30)
        return real(*args)

    monkeypatch.setattr(module, "reset", slow_reset)
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ADDRESS))
        await settle(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        await pilot.press(*"T-4711", "f2")
        await pilot.pause()
        assert dialog._busy
        app.switch_language("de")
        await pilot.pause()
        fresh = app.screen
        assert isinstance(fresh, ResetPasswordScreen) and fresh is not dialog
        assert "Passwort wird gesetzt" in seen_in(app, fresh.query_one("#reset-form"))
        release.set()
        await settle(app, pilot)
        assert fresh.query_one("#reset-result").display
        password = str(fresh.query_one("#result-password", Static).render()).strip()
        assert verify_password(password, stored(sqlite_db))


async def test_language_switch_keeps_the_form_as_typed(sqlite_db):
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        await pilot.press(*"T-4711")
        dialog.query_one("#reset-force").value = False
        app.switch_language("de")
        await settle(app, pilot)
        fresh = app.screen
        assert isinstance(fresh, ResetPasswordScreen) and fresh is not dialog
        assert fresh.query_one("#reset-ticket", Input).value == "T-4711"
        assert fresh.query_one("#reset-force").value is False
        form = seen_in(app, fresh.query_one("#reset-form"))
        # The customer's language was the operator's (English) and stays English.
        assert "Passphrase erzeugen" in form and "Kunde: English (F8 wechselt)" in form
