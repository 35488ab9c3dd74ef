"""The screens tests/test_tui_german.py leaves out, in German at 80×24, each with data: blocked
mail from the stack's real rspamd with its verdict, release and revoke dialogs; the fleet of old
mail programs (F9); the send log with a ranking (F6); password campaigns (F7); and the mailbox
tabs Activity, Blocked, Logins, Forwards and Sweep.

Each screen is opened once in English and once in German on the same data. It must open in
German, show its German texts whole, and cut no more than the English does: a cell or line
ending in `…` in German where the English shows it whole is a German text too long for 80
columns (fixed in the catalog, not the layout). The header line is left out of that count: it
clips the database's path after the screen's title."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from textual.widgets import DataTable

from helpdesk.config import load_config
from helpdesk.forwards.demo import add_demo
from helpdesk.i18n import set_language
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
from helpdesk.mailcenter.operator import Operator
from helpdesk.mailcenter.schema import forwards
from helpdesk.passwords.campaign import apply_campaign
from helpdesk.passwords.policy import PasswordSettings
from screens.blocked import BlockedList, BlockedScreen
from screens.campaign import CampaignScreen
from screens.clients import ClientsScreen
from screens.dialogs.release import ReleaseDialog
from screens.dialogs.ticket import TicketDialog
from screens.mailbox import MailboxScreen
from screens.verdict import VerdictScreen
from tests.conftest import run_cli
from tests.rspamd_tools import new_message_id
from tests.screen_check import WatchedApp, screen_output
from tests.smtp_tools import message, submit
from tests.test_logins_cli import ADDRESS, _world
from tests.test_tui_widths import USER, open_send_log, write_log
from tests.test_tui_widths import make_app as send_log_app

pytestmark = pytest.mark.tui

SIZE = (80, 24)
PASSWORD = "Kunden-Passwort-14!"
# Frames, scrollbars and button edges: not text. A wrapped line continues past them.
FRAME = "█▊▎▐▌▔▁▀▄│╭╮╰╯─━╸╺▏▍▃"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


async def settle(app, pilot, rounds: int = 4) -> None:
    for _ in range(rounds):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app) -> str:
    return screen_output(app)[0]


def cut(screen: str) -> int:
    """How many texts the screen ends in `…` below its header line."""
    return sum(line.count("…") for line in screen.split("\n")[1:])


def flat(screen: str) -> str:
    """The screen's words in order, frames and line breaks gone: a wrapped text reads whole."""
    for mark in FRAME:
        screen = screen.replace(mark, " ")
    return " ".join(screen.split())


def assert_whole(screen: str, *texts: str) -> None:
    """Each text is on screen whole (it may wrap)."""
    words = flat(screen)
    for text in texts:
        assert " ".join(text.split()) in words, f"{text!r} is not whole on screen:\n{screen}"


Steps = Callable[[WatchedApp, object], Awaitable[dict[str, str]]]


async def in_both(
    make: Callable[[], WatchedApp], steps: Steps, *, uncompared: tuple[str, ...] = ()
) -> dict[str, dict[str, str]]:
    """Run `steps` in English, then in German, each in a fresh app on the same data: the
    screens it returns by name, per language. German cuts no more than English on each
    (except on the `uncompared` ones, which say why)."""
    seen: dict[str, dict[str, str]] = {}
    for lang in ("en", "de"):
        set_language(lang)
        app = make()
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            seen[lang] = await steps(app, pilot)
    set_language("en")
    for name, german in seen["de"].items():
        if name in uncompared:
            continue
        english = seen["en"][name]
        assert cut(german) <= cut(english), (
            f"{name}: German cuts {cut(german)} texts, English {cut(english)}\n"
            f"--- English\n{english}\n--- German\n{german}"
        )
    return seen


# --------------------------------------------------------------------------- the mailbox tabs


@pytest.fixture
def capture_world(tmp_path) -> Path:
    """The captured stack logs of tests/data (logins, old mail programs, one message sent) and
    a mailbox with an auto-reply, a forward the helpdesk set and one another program wrote."""
    config = _world(tmp_path)
    # the captured lines are from 2026-11-30: a window of 400 days keeps them in it, whatever
    # the day the test runs (with the default 24 hours it failed from the next evening on)
    config.write_text(config.read_text().replace("[sendlog]\n", '[sendlog]\nsince = "400d"\n'))
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    with db.begin() as conn:
        mailbox = get_mailbox(conn, ADDRESS)
        add_demo(conn, mailbox, mailbox, "kollege@capture.example", Operator("berta"))
        conn.execute(insert(forwards).values(mailbox_id=mailbox.id, target="beute@fremd.example"))
    db.dispose()
    return config


async def test_mailbox_tabs_with_data_in_german(capture_world):
    async def steps(app, pilot) -> dict[str, str]:
        app.push_screen(MailboxScreen(ADDRESS))
        await settle(app, pilot)
        screens = {}
        for key, name in (("4", "activity"), ("6", "logins"), ("7", "forwards"), ("8", "sweep")):
            await pilot.press(key)
            await settle(app, pilot, 8)
            screens[name] = text_of(app)
        # The messages' table: its recipient column pays for the longer German fate
        # ("teils unzustellbar"), by design (screens/activity.py); the texts above it are
        # compared.
        lines = screens["activity"].split("\n")
        heading = next(i for i, line in enumerate(lines) if line.startswith((" When", " Zeit")))
        screens["activity table"] = screens["activity"]
        screens["activity"] = "\n".join(lines[:heading])
        return screens

    seen = await in_both(
        lambda: WatchedApp(load_config(capture_world)), steps, uncompared=("activity table",)
    )
    de = seen["de"]
    assert_whole(de["activity"], "Versandlog", "1 neue Nachricht · Enter zeigt sie · F5 liest neu")
    assert_whole(de["activity"], "(Score 0): unauffällig, 1 Nachricht an 1 Empfänger.")
    assert_whole(de["activity"], "Client-Adressen: 127.0.0.16 (1) (Log beginnt im Zeitraum")
    assert_whole(de["activity"], "Fehlgeschlagene Anmeldungen: 2 von 127.0.0.15 (2)")
    assert_whole(de["activity table"], "Zeit (UTC)", "Verbleib", "zugestellt", "kunde@capture.")
    assert_whole(
        de["logins"],
        "26 Anmeldungen und Versuche seit",
        "Passwortübertragung auf „Passwort, normal“ stellen",
        "SSL/TLS oder STARTTLS wählen",
        "auf IMAP umstellen, sonst leert das Gerät das Postfach",
        "zweites Gerät mit altem Passwort",
        "5 Fehlversuche): dort das neue Passwort eintragen",
        f"der Benutzername muss die volle Adresse {ADDRESS} sein (versucht: kunde;",
        "Zuletzt erfolgreich: IMAP",
    )
    for title in ("Zeit (UTC)", "Proto", "Ergebnis", "Adresse", "TLS", "Programm"):
        assert_whole(de["logins"], title)
    assert_whole(
        de["forwards"],
        "f Weiterleitung · a Abwesenheit · x / c entfernen · F2 bestätigt",
        "Weiterleitung an kollege@capture.example, beute@fremd.example",
        "mit Kopie",
        "je Absender einmal in 7 Tagen",
        "Betreff Abwesenheitsnotiz",
    )
    assert_whole(
        de["sweep"],
        "3 Änderungen in 30 Tagen · u macht rückgängig · Enter zeigt eine",
        "Weiterl. neu: beute@fremd.example anderes EXTERN",
        "Weiterl. neu: kollege@capture.example Helpdesk",
        "Abwesenheitsnotiz neu: Abwesenheitsnotiz Helpdesk",
    )
    for screen in de.values():
        assert "Übersicht  Protokoll  Spam  Aktivität  Blockiert  Anmeldung  Weiterl.  Prüfung" in (
            screen
        )


async def test_fleet_of_old_mail_programs_in_german(capture_world):
    async def steps(app, pilot) -> dict[str, str]:
        await pilot.press("f9")
        screen = app.screen
        for _ in range(100):
            await pilot.pause(0.05)
            if (
                isinstance(screen, ClientsScreen)
                and screen.fleet is not None
                and not screen.reading
            ):
                break
        await settle(app, pilot)
        assert isinstance(app.screen, ClientsScreen)
        return {"fleet": text_of(app)}

    seen = await in_both(lambda: WatchedApp(load_config(capture_world)), steps)
    fleet = seen["de"]["fleet"]
    header = fleet.split("\n")[0]
    assert "Alte Mailprogramme — " in header
    assert_whole(
        fleet, "1 Postfach mit alten Einstellungen im Mailprogramm", "Enter öffnet das Postfach"
    )
    titles = next(line for line in fleet.split("\n") if "Postfach " in line and "POP3" in line)
    for title in ("Postfach", "Name", "POP3", "o. TLS", "CRAM"):
        assert title in titles.split("  ") or f" {title} " in f" {titles} ", (title, titles)
    row = next(line for line in fleet.split("\n") if ADDRESS in line)
    assert "Erika Kunde" in row
    for key in ("Zurück", "Logs neu lesen", "Lesen abbrechen", "Tasten"):
        assert key in fleet.split("\n")[-1]


# --------------------------------------------------------------------- send log and campaigns


@pytest.fixture
def send_log_world(tmp_path) -> tuple[Database, Path]:
    """A taken-over account ranked first (tests/test_tui_widths.py), and a campaign."""
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, USER, realname="Buchhaltung Müller")
        create_mailbox(conn, "zweite@mueller-sanitaer-heizung.example")
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    apply_campaign(
        db,
        before=datetime(2099, 1, 1),
        settings=PasswordSettings(),
        ticket="T-4711",
        operator=Operator("berta"),
    )
    yield db, tmp_path / "mainlog"
    db.dispose()


async def test_send_log_ranking_and_campaigns_in_german(send_log_world):
    db, log = send_log_world

    async def steps(app, pilot) -> dict[str, str]:
        await open_send_log(app, pilot)
        ranking = text_of(app)
        await pilot.press("escape")
        await pilot.press("f7")
        await settle(app, pilot)
        assert isinstance(app.screen, CampaignScreen)
        return {"send log": ranking, "campaigns": text_of(app)}

    seen = await in_both(lambda: send_log_app(db, log), steps)
    ranking = seen["de"]["send log"]
    assert "Versandprotokoll — " in ranking.split("\n")[0]
    assert_whole(
        ranking,
        "1 verdächtig von 1 Absender",
        "(Score 71): 40 Nachrichten in 5 Minuten, 100 % an fremde Domains, von 1 nie zuvor "
        "gesehenen Client-Adresse, 100 % ohne TLS gesendet",
        "Nachrichten je 5 Minuten",
        "Client-Adressen: 192.0.2.201 (40, neu)",
    )
    titles = next(line for line in ranking.split("\n") if line.startswith(" Score "))
    assert titles.split() == ["Score", "Konto", "Mails", "Abgew.", "Max/5m", "Neu"], titles
    row = next(line for line in ranking.split("\n") if line.startswith(" 71 "))
    assert row.split()[2:] == ["40", "0", "40", "1"], row
    assert "teils unzustellbar" in ranking
    for key in ("Versand sperren", "Neues Passwort", "Postfach", "Alle/verdächt."):
        assert key in ranking.split("\n")[-1]
    campaigns = seen["de"]["campaigns"]
    assert_whole(campaigns, "Passwort-Kampagnen", "1 Kampagne · 2 Postfächer müssen noch ändern")
    row = next(line for line in campaigns.split("\n") if "2099-01-01" in line)
    assert "0/2" in row and "0%" in row and "T-4711" in row
    for title in ("Begonnen", "Stichtag", "Geändert", "Fortschritt", "Ticket"):
        assert title in campaigns


# ------------------------------------------------------------ blocked mail from the real rspamd


@pytest.mark.stack
async def test_blocked_mail_and_its_dialogs_in_german(stack):
    """Two refused messages of one customer, one of them released: the list, the verdict, the
    release dialog of the other, the revoke dialog of the released one, and the mailbox's
    Blocked tab, each from the stack's own rspamd."""
    tag = os.urandom(4).hex()
    user = stack.add_mailbox(f"de.{tag}@firma.test", PASSWORD)
    subjects = {}
    for name in ("released", "blocked"):
        mid = new_message_id(name)
        subjects[name] = f"Rechnung {name[:3]}{tag} HELPDESK-TEST-SPAM"
        assert submit(stack, user, PASSWORD, message(user, mid, subjects[name])) == 550
        if name == "released":
            out = run_cli("release", f"<{mid}>", "--user", user, "--ticket", "T-14", "--json",
                          config=stack.config_path)  # fmt: skip
            assert out.returncode == 0 and json.loads(out.stdout)["uses"] == 1, out.stderr
    db = Database(stack.database_url)

    async def row_of(app, pilot, name: str) -> None:
        shown = app.screen.query_one(BlockedList).shown
        index = next(i for i, item in enumerate(shown) if item.subject == subjects[name])
        table = app.screen.query_one("#blocked-table", DataTable)
        table.focus()
        table.move_cursor(row=index)
        await pilot.pause()

    async def steps(app, pilot) -> dict[str, str]:
        screens = {}
        await pilot.press("ctrl+b")
        await settle(app, pilot)
        assert isinstance(app.screen, BlockedScreen)
        await pilot.press("slash", *tag)
        await settle(app, pilot)
        await row_of(app, pilot, "blocked")
        screens["list"] = text_of(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen)
        screens["verdict"] = text_of(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ReleaseDialog)
        screens["release"] = text_of(app)
        await pilot.press("escape")
        await pilot.pause()
        await row_of(app, pilot, "released")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, TicketDialog)
        screens["revoke"] = text_of(app)
        await pilot.press("escape")
        await pilot.pause()
        app.push_screen(MailboxScreen(user))
        await settle(app, pilot)
        await pilot.press("5")
        await settle(app, pilot, 8)
        screens["tab"] = text_of(app)
        return screens

    seen = await in_both(lambda: WatchedApp(load_config(stack.config_path), db=db), steps)
    de = seen["de"]
    assert_whole(
        de["list"], "Gesperrte ausgehende Mail", f"gesperrten Nachrichten passen zu '{tag}'"
    )
    titles = next(line for line in de["list"].split("\n") if "Absender" in line)
    for title in ("Zeit (", "Absender", "Score", "Freigabe", "Message-ID", "Betreff"):
        assert title in titles, titles
    released = next(line for line in de["list"].split("\n") if "<relea" in line)
    assert " frei " in released, released
    for key in ("Freigabe", "Widerrufen", "Neu laden", "Filter"):
        assert key in de["list"].split("\n")[-1]
    assert_whole(de["verdict"], subjects["blocked"])
    assert_whole(
        de["release"],
        "Diese Nachricht freigeben",
        "Durch kommt:",
        "Alles andere von diesem Konto wird weiter geprüft.",
        "Kein Versandprotokoll in dieser Sitzung gelesen",
        "Läuft ab nach",
        "Kopien (1-10)",
        "Zum Vorlesen (Deutsch, F8 wechselt):",
        f"Ihre Nachricht „{subjects['blocked']}“ wurde freigegeben. Bitte senden Sie sie "
        "innerhalb von 4 Stunden (bis",
        "noch einmal unverändert ab; sie geht dann einmal durch. Eine geänderte Nachricht wird "
        "neu geprüft.",
        "Freigabe [F2]",
        "Abbrechen [Esc]",
    )
    assert_whole(
        de["revoke"],
        "Widerrufen",
        "wird wieder von rspamd geprüft.",
        "Widerrufen [F2]",
        "Ticketnummer (Pflicht)",
        "Grund (optional)",
        "Abbrechen [Esc]",
    )
    assert_whole(de["tab"], "2 gesperrte Nachrichten von", user, "Freigabe")
    row = next(line for line in de["tab"].split("\n") if "<relea" in line)
    assert " frei " in row, row
    db.dispose()
