"""Columns grow with the terminal: at 160×50 the send log, the mailbox's Activity tab and the
password campaigns show long addresses, recipients, subjects, reasons, tickets and operators
whole; at 80×24 what carries meaning (numbers, times, a message's fate, the start of an address)
is not cut. Resizing re-cuts what is already on screen. The text checked is what the terminal
would show."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable

from helpdesk.config import Config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.operator import Operator
from helpdesk.passwords.campaign import apply_campaign
from helpdesk.passwords.policy import PasswordSettings
from screens.app import HelpdeskApp
from screens.campaign import CampaignScreen
from screens.mailbox import MailboxScreen
from screens.sendlog import SendLogScreen
from tests.screen_check import screen_output

pytestmark = pytest.mark.tui

# 53 characters: longer than an 80-column table gives an address, shorter than a 160-column one.
USER = "buchhaltung.zentrale@mueller-sanitaer-heizung.example"
RECIPIENT = "einkauf.abteilung-nord@grosshandel-haustechnik.example"
BOUNCED = "alt@grosshandel-haustechnik.example"
SUBJECT = "Rechnung 2026-1187: Zahlungserinnerung und offene Posten"
NARROW, WIDE = (80, 24), (160, 50)


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def write_log(path: Path, now: datetime) -> None:
    """USER, taken over: 40 messages in two minutes from a new address without TLS, each to two
    recipients of which one bounces (so every message is "partly bounced"). Once, two days ago,
    from its usual address."""
    lines = [
        f"{stamp(now - timedelta(days=2))} 1xWid0-000000-Aa <= {USER} H=(pc) [198.51.100.7]:4711 "
        f"I=[127.0.0.1]:587 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 A=sql_plain:{USER} "
        f'S=900 id=old@mueller-sanitaer-heizung.example T="Hallo" for kunde@web.example',
        f"{stamp(now - timedelta(days=2))} 1xWid0-000000-Aa => kunde@web.example R=dnslookup "
        "T=remote_smtp H=mx [198.51.100.1]",
        f"{stamp(now - timedelta(days=2))} 1xWid0-000000-Aa Completed",
    ]
    t0 = now - timedelta(minutes=30)
    for k in range(1, 41):
        t, eid = stamp(t0 + timedelta(seconds=3 * k)), f"1xWid{k % 10}-{k:06d}-Ab"
        lines += [
            f"{t} {eid} <= {USER} H=(pc) [192.0.2.201]:4711 I=[127.0.0.1]:587 P=esmtpa "
            f"A=sql_plain:{USER} S=1234 id=m{k}@mueller-sanitaer-heizung.example "
            f'T="{SUBJECT}" for {RECIPIENT} {BOUNCED}',
            f"{t} {eid} => {RECIPIENT} R=dnslookup T=remote_smtp H=mx [198.51.100.1]",
            f"{t} {eid} ** {BOUNCED} R=dnslookup T=remote_smtp H=mx [198.51.100.1]: "
            "SMTP error from remote mail server after RCPT TO:<alt@grosshandel-haustechnik"
            ".example>: 550 5.1.1 User unknown",
            f"{t} {eid} Completed",
        ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def world(tmp_path) -> tuple[Database, Path]:
    """SQLite only: what is checked is the screens' layout, not the database."""
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, USER, realname="Buchhaltung Müller")
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    yield db, tmp_path / "mainlog"
    db.dispose()


def make_app(db: Database, log: Path) -> HelpdeskApp:
    url = db.url.render_as_string(hide_password=False)
    return HelpdeskApp(Config(None, {"database": {"url": url}, "sendlog": {"paths": [str(log)]}}))


async def settle(app, pilot, pause: float = 0.0) -> None:
    await pilot.pause(pause) if pause else await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown(app) -> list[str]:
    return screen_output(app)[0].split("\n")


def widths(table: DataTable) -> dict[str, int]:
    return {str(key.value): column.width for key, column in table.columns.items()}


def fits(table: DataTable, width: int) -> bool:
    """Every column inside the table, and the table on the screen: cells padded by one on
    either side, two for the table's scrollbar."""
    cells = sum(c.width + 2 for c in table.columns.values())
    return cells + 2 <= table.size.width <= width


def offender_row(app) -> str:
    return next(line for line in shown(app) if USER[:20] in line and "Score" not in line)


def message_rows(app) -> list[str]:
    return [line for line in shown(app) if RECIPIENT[:16] in line]


async def open_send_log(app, pilot) -> SendLogScreen:
    await settle(app, pilot)
    await pilot.press("f6")
    await settle(app, pilot)
    # The highlighted sender's messages are read once the cursor has rested.
    await settle(app, pilot, 0.5)
    assert isinstance(app.screen, SendLogScreen)
    return app.screen


async def test_send_log_at_80x24_cuts_nothing_that_carries_meaning(world):
    db, log = world
    app = make_app(db, log)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_send_log(app, pilot)
        offenders = screen.query_one("#sendlog-offenders", DataTable)
        assert fits(offenders, NARROW[0]) and "reasons" not in widths(offenders)
        row = offender_row(app)
        # The address as far as it fits, then "…"; every number whole.
        assert USER[: widths(offenders)["user"] - 1] + "…" in row
        score = str(offenders.get_row_at(0)[0])
        assert row.split()[:3] == [score, USER[: widths(offenders)["user"] - 1] + "…", "40"]
        messages = screen.query_one("#activity-messages", DataTable)
        assert fits(messages, NARROW[0])
        rows = message_rows(app)
        assert rows, shown(app)
        subject = widths(messages)["subject"]
        for line in rows:
            # The time and the fate whole, the recipient's start readable, and the end of the
            # subject's cut visible (not under a scrollbar).
            assert "partly bounced" in line and RECIPIENT[:20] in line
            assert SUBJECT[: subject - 1] + "…" in line
            assert line.split()[0].count("-") == 1 and line.split()[1].count(":") == 1


async def test_send_log_at_160x50_shows_long_values_whole(world):
    db, log = world
    app = make_app(db, log)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_send_log(app, pilot)
        offenders = screen.query_one("#sendlog-offenders", DataTable)
        assert fits(offenders, WIDE[0])
        assert widths(offenders)["user"] >= len(USER)
        row = offender_row(app)
        assert f" {USER} " in row
        # The reasons beside the address, the first and most telling one whole.
        assert "reasons" in widths(offenders)
        reasons = screen.report.user(USER).reasons
        assert str(reasons[0]) in row
        messages = screen.query_one("#activity-messages", DataTable)
        assert fits(messages, WIDE[0])
        rows = message_rows(app)
        assert rows
        for line in rows:
            assert f"{RECIPIENT} +1" in line and SUBJECT in line and "partly bounced" in line


async def test_send_log_columns_follow_a_resize(world):
    db, log = world
    app = make_app(db, log)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_send_log(app, pilot)
        offenders = screen.query_one("#sendlog-offenders", DataTable)
        narrow = widths(offenders)
        assert f" {USER} " not in offender_row(app)
        assert not any(SUBJECT in line for line in message_rows(app))
        await pilot.resize_terminal(*WIDE)
        await settle(app, pilot)
        # The rows already shown are cut again to the new widths: now whole.
        assert widths(offenders)["user"] > narrow["user"]
        assert f" {USER} " in offender_row(app)
        assert all(SUBJECT in line for line in message_rows(app))
        assert offenders.get_row_at(offenders.cursor_row)  # the choice is kept
        assert screen.selected == USER
        await pilot.resize_terminal(*NARROW)
        await settle(app, pilot)
        assert widths(offenders) == narrow and fits(offenders, NARROW[0])
        assert USER[: narrow["user"] - 1] + "…" in offender_row(app)


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_activity_tab_grows_with_the_terminal(world, size):
    db, log = world
    app = make_app(db, log)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(USER))
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot, 0.2)
        messages = app.screen.query_one("#activity-messages", DataTable)
        assert fits(messages, size[0])
        rows = message_rows(app)
        assert rows, shown(app)
        for line in rows:
            assert "partly bounced" in line
            if size == WIDE:
                assert f"{RECIPIENT} +1" in line and SUBJECT in line
            else:
                assert RECIPIENT[:20] in line and SUBJECT[:10] in line


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_campaigns_grow_with_the_terminal(world, size):
    db, log = world
    with db.begin() as conn:
        create_mailbox(conn, "zweite@mueller-sanitaer-heizung.example")
        create_mailbox(conn, "a@schulz.example")
        create_mailbox(conn, "b@schulz.example")
    ticket, operator = "INCIDENT-2026113001", Operator("berta.schaefer-leitstelle")
    apply_campaign(
        db,
        before=datetime(2099, 1, 1),
        settings=PasswordSettings(),
        ticket=ticket,
        operator=operator,
        domain="mueller-sanitaer-heizung.example",
    )
    apply_campaign(
        db,
        before=datetime(2098, 1, 1),
        settings=PasswordSettings(),
        ticket="T-4711",
        operator=Operator("carl"),
        domain="schulz.example",
    )
    app = make_app(db, log)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.push_screen(CampaignScreen())
        await settle(app, pilot)
        table = app.screen.query_one("#campaign-table", DataTable)
        assert fits(table, size[0])
        lines = shown(app)
        rows = [line for line in lines if "2099-01-01" in line or "2098-01-01" in line]
        assert len(rows) == 2, lines
        for line in rows:
            # The counts and the bar with its percentage whole, at any size.
            assert "0/2" in line and "0%" in line and "░" * 12 in line
        long = next(line for line in rows if "2099-01-01" in line)
        short = next(line for line in rows if "2098-01-01" in line)
        assert "T-4711" in short
        if size == WIDE:
            assert ticket in long and operator.user in long
            assert "carl" in short
        else:
            assert ticket[:10] in long and operator.user not in long
