"""The outbound picture on the send log (F6) at 80×24: one line under the header from the
screen's own read of a generated mainlog and the watcher's audit row, and the full view on `v`
(hours, accounts over a limit, the watcher's actions; Enter opens the mailbox, Esc goes back)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable

from helpdesk.config import load_config
from helpdesk.i18n import M, set_language
from helpdesk.localtime import SHORT, time_text
from helpdesk.mailcenter.audit import Operator
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_domain, create_mailbox
from helpdesk.watch import store
from helpdesk.watch.evidence import Crossing, hit_of
from helpdesk.watch.picture import watch_actions
from screens.keys import KeysScreen
from screens.mailbox import MailboxScreen
from screens.outbound import OutboundScreen
from screens.sendlog import SendLogScreen
from tests.screen_check import WatchedApp, screen_output
from tests.test_outbound import arrival, limit_refusal
from tests.test_tui_keys import palette_finds
from tests.test_tui_language import palette_choose

pytestmark = pytest.mark.tui

ANNA = "anna@firma.de"  # short enough to stand whole in the line
BERT = "bert@firma.de"
SPAM = (
    "{t} 1xY-000 H=(pc) [10.0.0.5]:5000 I=[127.0.0.1]:587 F=<anna@firma.de> "
    "A=sql_plain:anna@firma.de rejected after DATA: blocked. -- "
    'digest={d} release=none id="<{d}@pc>"'
)


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A mainlog (bert sends a little for hours, anna bursts and is refused by her limit) and
    a database in which the watcher suspended anna; the config names both."""
    now = datetime.now().replace(microsecond=0)
    lines, seq = [], 0
    for hours_ago in (5, 3, 2):
        seq += 1
        lines.append(arrival(now - timedelta(hours=hours_ago, minutes=10), BERT, seq))
    for i in range(12):
        seq += 1
        lines.append(arrival(now - timedelta(minutes=40 - i), ANNA, seq))
    for minutes in (25, 20, 5):
        lines.append(limit_refusal(now - timedelta(minutes=minutes), ANNA))
    log = tmp_path / "mainlog"
    log.write_text("\n".join(sorted(lines)) + "\n")

    db = Database(f"sqlite:///{tmp_path / 'mc.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_domain(conn, "firma.de")
        create_mailbox(conn, ANNA)
        create_mailbox(conn, BERT)
    t = (now - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    hits = tuple(hit_of(SPAM.format(t=t, d=str(n) * 32).encode()) for n in (1, 2, 3))
    hits += (hit_of(limit_refusal(now - timedelta(minutes=25), ANNA).encode()),)
    crossing = Crossing(ANNA, M("3 refused messages in 10 minutes"), hits)
    operator = Operator("helpdesk-watch")
    assert store.suspend(db, crossing, ticket="AUTO-watch", operator=operator) is not None
    db.dispose()

    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mc.sqlite"}"\n\n[sendlog]\npaths = ["{log}"]\n'
    )
    return config


def rows(app) -> list[str]:
    return screen_output(app)[0].split("\n")


async def settle(app, pilot, pause: float = 0.0) -> None:
    await pilot.pause(pause)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_send_log(app, pilot) -> None:
    await settle(app, pilot)
    app.push_screen(SendLogScreen())
    for _ in range(100):
        await settle(app, pilot, 0.1)
        if "reading" not in rows(app)[1]:
            break


def suspended_at(config: Path) -> str:
    db = Database(load_config(config).section("database")["url"])
    try:
        with db.connect() as conn:
            [action] = watch_actions(conn)
    finally:
        db.dispose()
    return time_text(action.at, SHORT)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Out/h ", " 12 · 1 over limit · stopped anna@firma.de ")),
        ("de", ("Aus/h ", " 12 · 1 über Grenze · gesperrt anna@firma.de ")),
    ],
)
async def test_the_line_above_the_ranking(world, language, words):
    app = WatchedApp(load_config(world))
    set_language(language)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await open_send_log(app, pilot)
            line = rows(app)[1]
    finally:
        set_language("en")
    start, middle = words
    # Right under the header, above the status and the ranking; whole in 80 columns.
    assert line.strip().startswith(start), line
    assert middle + suspended_at(world) in line, line
    assert not line.rstrip().endswith("…")
    spark = line.strip()[len(start) :].split(" ")[0]
    # Eight hours, the last one anna's burst (the highest bar), bert's hours the lowest.
    assert len(spark) == 8 and spark[-1] == "█" and set(spark[:-1]) <= {"▁"}, spark


async def test_the_full_view_opens_mailboxes_and_goes_back(world):
    app = WatchedApp(load_config(world))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_send_log(app, pilot)
        keys = None
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        keys = "\n".join(rows(app))
        await pilot.press("escape")
        await settle(app, pilot)
        assert "Outbound" in keys
        assert "Outbound\n  key: v" in await palette_finds(app, pilot, "outbound")

        await pilot.press("v")
        await settle(app, pilot)
        assert isinstance(app.screen, OutboundScreen)
        screen = rows(app)
        text = "\n".join(screen)
        assert len(screen) == 24 and all(len(r) <= 80 for r in screen)
        assert "Messages per hour (" in text
        # The hour of anna's burst: 12 messages, the longest bar.
        assert any(" 12 ████████████" in r for r in screen), text
        assert "Over a limit now: 1" in text
        [over] = [r for r in screen if "anna@firma.de" in r and "10 msgs/h" in r]
        assert "AUTO-watch" in text and "3 spam refusals" in text
        assert "The watcher's suspensions" in text

        await pilot.press("enter")  # the over-limit table has the focus
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen) and app.screen.address == ANNA
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, OutboundScreen)
        app.screen.query_one("#outbound-actions", DataTable).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen) and app.screen.address == ANNA
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, SendLogScreen)


async def test_the_full_view_in_german(world):
    app = WatchedApp(load_config(world))
    set_language("de")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await open_send_log(app, pilot)
            await pilot.press("v")
            await settle(app, pilot)
            screen = rows(app)
    finally:
        set_language("en")
    text = "\n".join(screen)
    assert "Nachrichten pro Stunde (" in text and "Jetzt über einer Grenze: 1" in text
    # The limit whole in its column, the evidence's first kind whole.
    assert any("anna@firma.de" in r and "10 Mails/h" in r for r in screen), text
    assert "AUTO-watch" in text and "3 Spam-Abweisungen" in text
    assert "Sperren durch den Wächter" in text


async def test_following_the_log_moves_the_line(world, monkeypatch):
    """New refusals and a new suspension by the watcher reach the line while `f` follows."""
    import screens.sendlog

    monkeypatch.setattr(screens.sendlog, "ACTIONS_EVERY", 0.0)  # no 10 s wait in a test
    config = load_config(world)
    log = Path(config.section("sendlog")["paths"][0])
    app = WatchedApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_send_log(app, pilot)
        assert " · 1 over limit · stopped anna@firma.de " in rows(app)[1]
        await pilot.press("f")
        now = datetime.now().replace(microsecond=0)
        with log.open("a") as out:
            out.write(limit_refusal(now, BERT, "2 recipients per hour") + "\n")
        db = Database(config.section("database")["url"])
        try:
            hit = hit_of(limit_refusal(now, BERT).encode())
            crossing = Crossing(BERT, M("5 limit refusals in 10 minutes"), (hit,))
            assert store.suspend(db, crossing, ticket="AUTO-watch", operator=Operator("w"))
        finally:
            db.dispose()
        for _ in range(50):
            await settle(app, pilot, 0.2)
            if "stopped bert" in rows(app)[1]:
                break
        assert " · 2 over limit · stopped bert@firma.de " in rows(app)[1], rows(app)[1]

        # A language switch builds the full view again, in German, with the same picture.
        await pilot.press("v")
        await settle(app, pilot)
        await palette_choose(app, pilot, "Sprache")
        assert isinstance(app.screen, OutboundScreen)
        text = "\n".join(rows(app))
        assert "Jetzt über einer Grenze: 2" in text and "2 Empf./h" in text, text
