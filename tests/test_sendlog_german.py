"""The send log in German: `helpdesk offenders` and `trail` speak German on a German desk while
`--json` stays the same, carrying each reason's message id, parameters and English text; the
send-log screen, the Activity tab and the password campaigns read German at 80×24 with what
carries meaning whole."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from textual.widgets import DataTable

from helpdesk.i18n import set_language
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.operator import Operator
from helpdesk.passwords.campaign import apply_campaign
from helpdesk.passwords.policy import PasswordSettings
from helpdesk.sendlog.score import _span
from screens.campaign import CampaignScreen
from screens.mailbox import MailboxScreen
from tests.conftest import run_cli
from tests.test_sendlog_cli import NO_CONFIG, VICTIM, _log
from tests.test_tui_widths import (
    NARROW,
    USER,
    make_app,
    message_rows,
    open_send_log,
    settle,
    shown,
    world,  # noqa: F401 (fixture)
)

GERMAN = {**NO_CONFIG, "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "de_DE.UTF-8"}
ENGLISH = {**NO_CONFIG, "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}


@pytest.fixture
def mainlog(tmp_path):
    return _log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))


@pytest.fixture
def german():
    set_language("de")
    yield
    set_language("en")


def test_offenders_json_is_the_same_in_german_and_carries_the_message_ids(mainlog):
    args = ("offenders", "--log", str(mainlog), "--since", "3h", "--json")
    english = run_cli(*args, env=ENGLISH)
    german = run_cli(*args, env=GERMAN)
    assert english.returncode == german.returncode == 0, german.stderr
    assert german.stdout == english.stdout
    top = json.loads(german.stdout)[0]
    assert top["user"] == VICTIM
    assert top["reasons"][0] == "68 messages in 5 minutes"
    first = top["reasons_message"][0]
    assert first == {
        "id": "{n} message in 5 minutes",
        "params": {"n": 68},
        "text": "68 messages in 5 minutes",
    }
    assert [m["text"] for m in top["reasons_message"]] == top["reasons"]
    # The summary on stderr is the only thing in German.
    assert "Zeilen aus 1 Datei" in german.stderr and "lines from 1 file" in english.stderr


def test_offenders_human_output_in_german(mainlog):
    out = run_cli("offenders", "--log", str(mainlog), "--since", "3h", env=GERMAN)
    assert out.returncode == 0, out.stderr
    assert "Absender von " in out.stdout and "schlimmste zuerst" in out.stdout
    assert "68 Nachrichten in 5 Minuten" in out.stdout
    assert "8 als Spam abgewiesen" in out.stdout
    assert "von 1 nie zuvor gesehenen Client-Adresse" in out.stdout
    assert "Client-Adressen mit den meisten fehlgeschlagenen Anmeldungen" in out.stdout
    assert "15 fehlgeschlagene Anmeldungen bei 15 Konten" in out.stdout


def test_a_reason_naming_the_window_carries_it_as_a_text():
    from helpdesk.i18n import Mn

    span = _span(timedelta(hours=3))
    reason = Mn("{n} message in {span}", "{n} messages in {span}", 1200, span=span)
    assert reason.as_json() == {
        "id": "{n} message in {span}",
        "params": {"span": {"id": "{n} hour", "params": {"n": 3}, "text": "3 hours"}, "n": 1200},
        "text": "1,200 messages in 3 hours",
    }
    assert reason.render("de") == "1.200 Nachrichten in 3 Stunden"
    assert str(_span(timedelta(days=7)).render("de")) == "7 Tagen"
    assert _span(timedelta(minutes=30)).english() == "30 minutes"


def test_trail_and_log_errors_in_german(tmp_path):
    missing = tmp_path / "nicht-da.log"
    out = run_cli("trail", "1xAbcd-000000-Zz", "--log", str(missing), env=GERMAN)
    assert out.returncode != 0
    assert f"Logdatei nicht gefunden: {missing}" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    (tmp_path / "leer.log").write_text("")
    out = run_cli("trail", "1xAbcd-000000-Zz", "--log", str(tmp_path / "leer.log"), env=GERMAN)
    assert out.returncode != 0 and "keine Logzeile nennt 1xAbcd-000000-Zz" in out.stderr
    out = run_cli("trail", "kurz", "--log", str(tmp_path / "leer.log"), env=GERMAN)
    assert "keine Exim-ID und keine Message-ID: 'kurz'" in out.stderr


async def test_send_log_screen_in_german_at_80x24(world, german):  # noqa: F811
    db, log = world
    app = make_app(db, log)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_send_log(app, pilot)
        lines = shown(app)
        text = "\n".join(lines)
        # The footer: the screen's own keys first, in German.
        for action in ("Versand sperren", "Passwort", "Postfach"):
            assert action in lines[-1], lines[-1]
        assert "1 verdächtig von 1 Absender" in text
        summary = screen.query_one("#activity-summary").render()
        assert "40 Nachrichten in 5 Minuten" in str(summary)
        offenders = screen.query_one("#sendlog-offenders", DataTable)
        headers = [str(c.label) for c in offenders.columns.values()]
        assert headers[:3] == ["Score", "Konto", "Mails"]
        rows = message_rows(app)
        assert rows
        for row in rows:
            # The longest German fate is whole, the recipient still readable.
            assert "teils unzustellbar" in row and "einkauf.abteilung" in row
        assert "Nachrichten je 5 Minuten" in text


async def test_activity_tab_and_campaigns_in_german_at_80x24(world, german):  # noqa: F811
    db, log = world
    app = make_app(db, log)
    async with app.run_test(size=NARROW) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(USER))
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot, 0.2)
        # The status wraps onto its second line at 80 columns, whole.
        text = " ".join(line.strip() for line in shown(app))
        assert "Versandlog " in text
        assert "40 neue Nachrichten · Enter zeigt eine · F5 liest neu" in text
        assert all("teils unzustellbar" in row for row in message_rows(app))
        app.pop_screen()
        with db.begin() as conn:
            create_mailbox(conn, "zweite@mueller-sanitaer-heizung.example")
        apply_campaign(
            db,
            before=datetime(2099, 1, 1),
            settings=PasswordSettings(),
            ticket="T-4711",
            operator=Operator("berta"),
        )
        app.push_screen(CampaignScreen())
        await settle(app, pilot)
        lines = shown(app)
        text = "\n".join(lines)
        assert "Passwort-Kampagnen" in text
        assert "1 Kampagne · 2 Postfächer müssen noch ändern" in text
        row = next(line for line in lines if "2099-01-01" in line)
        assert "0/2" in row and "T-4711" in row
        for title in ("Begonnen", "Stichtag", "Geändert", "Fortschritt", "Ticket"):
            assert title in text
