"""Every screen, tab and dialog at 80×24 on demo data: what carries meaning is on screen, uncut;
at 160×50 the columns are wider. The text checked is what the terminal would show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import DataTable, TabbedContent

from helpdesk.config import Config
from helpdesk.mailcenter.audit import current_operator, read
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.demo import fill
from helpdesk.mailcenter.mailboxes import get_mailbox, set_sending
from helpdesk.plaintext import clip_message_id, clip_middle
from helpdesk.rspamd.blocked import BlockedMessage, BlockedReport
from helpdesk.spam.demo import insert_demo_rows
from screens.blocked import BlockedList, BlockedScreen
from screens.blocked_jobs import BlockedLoad
from screens.keys import KeysScreen
from screens.mailbox import MailboxScreen
from tests.screen_check import WatchedApp, screen_output

pytestmark = pytest.mark.tui

MESSAGE_ID = "179606182601.48213.7731@mueller-sanitaer.de"
SUBJECT = "Rechnung 2026-1187 Zahlungserinnerung"
MAILBOX_TABS = ("Overview", "Audit", "Spam", "Activity", "Blocked", "Logins", "Forwards", "Sweep")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Database:
    """`helpdesk db demo` in small: 300 mailboxes on SQLite, one audit row."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    db = Database(f"sqlite:///{path}")
    db.create_schema()
    fill(db, mailboxes_count=300, domains_count=30, seed=1, more=insert_demo_rows)
    with db.begin() as conn:
        mailbox = get_mailbox(conn, must_change_address(db))
        set_sending(
            conn,
            mailbox,
            False,
            ticket="T-4711",
            reason="spam wave from a hijacked account, reported by three recipients",
            operator=current_operator(),
        )
    yield db
    db.dispose()


def must_change_address(db: Database, number: int = 0) -> str:
    """The first (or a later) demo mailbox that must change its password; the first is also
    suspended."""
    from sqlalchemy import select

    from helpdesk.mailcenter.schema import domains, mailboxes

    with db.connect() as conn:
        row = conn.execute(
            select(mailboxes.c.local_part, domains.c.name)
            .join(domains, domains.c.id == mailboxes.c.domain_id)
            .where(mailboxes.c.must_change_password.is_(True))
            .order_by(mailboxes.c.id)
            .offset(number)
            .limit(1)
        ).one()
    return f"{row[0]}@{row[1]}"


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def make_app(db: Database) -> WatchedApp:
    config = Config(None, {"database": {"url": db.url.render_as_string(hide_password=False)}})
    return WatchedApp(config, db=db)


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown(app) -> list[str]:
    return screen_output(app)[0].split("\n")


async def search_for(app, pilot, query: str) -> None:
    await pilot.press(*query)
    await pilot.pause(0.3)
    await settle(app, pilot)


def column_text(table: DataTable, key: str) -> list[str]:
    return [str(v) for v in table.get_column(key)]


async def test_search_screen_at_80x24(demo):
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, address)
        lines = shown(app)
        # The header names the operator, the footer the screen's own key first.
        assert f"— {current_operator().user} · " in lines[0]
        assert "Open mailbox" in lines[-1] and lines[-1].count("Keys") == 1, lines[-1]
        # The last one: the first is the search box.
        row = [line for line in lines if address.split("@")[0] in line][-1]
        # The suspended must-change mailbox: the status word is whole.
        assert "suspended" in row


async def test_search_status_word_whole(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        address = must_change_address(demo, 1)
        await search_for(app, pilot, address)
        table = app.screen.query_one(DataTable)
        assert column_text(table, "status")[0] == "must-change"
        row = [line for line in shown(app) if address.split("@")[0] in line][-1]
        assert row.rstrip().endswith(" must-change")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_search_columns_grow_with_the_terminal(demo, size):
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(DataTable)
        widths = [c.width for c in table.columns.values()]
        # Every column fits on the screen, and a wide terminal gives more to the address.
        assert sum(widths) + 2 * len(widths) <= size[0]
        if size[0] == 160:
            assert widths[0] >= 60 and widths[1] >= 30
        else:
            assert widths[0] >= 30 and widths[3] >= len("must-change")


async def open_mailbox(app, pilot, address: str) -> None:
    await search_for(app, pilot, address)
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, MailboxScreen)


async def test_mailbox_screen_and_every_tab_at_80x24(demo):
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, address)
        for number, label in enumerate(MAILBOX_TABS, 1):
            await pilot.press(str(number))
            await settle(app, pilot)
            lines = shown(app)
            text = "\n".join(lines)
            tab_bar = next(line for line in lines if "Overview" in line)
            assert all(name in tab_bar for name in MAILBOX_TABS), (label, tab_bar)
            assert all(len(name) <= 10 for name in MAILBOX_TABS)
            # The screen's actions are in the footer, whichever tab is shown.
            for action in ("Suspend sending", "Reinstate", "Reset password", "Keys"):
                assert action in lines[-1], (label, lines[-1])
            assert "s suspend · r reinstate · p password · ? keys · Esc back" in text
            if label == "Audit":
                row = next(line for line in lines if "T-4711" in line)
                assert "suspend" in row
            if label == "Spam":
                assert "^s save" in text and "a add" in text and "l allow" in text


async def test_audit_change_is_one_enter_away(demo):
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, address)
        await pilot.press("2")
        await settle(app, pilot)
        # The focus is on the tab bar: Enter still opens the audit row whole.
        await pilot.press("enter")
        await settle(app, pilot)
        text = "\n".join(shown(app))
        assert "spam wave from a hijacked account, reported by three recipients" in text


def blocked_items() -> list[BlockedMessage]:
    return [
        BlockedMessage(
            time=datetime(2026, 11, 30, 9, 14, tzinfo=UTC).replace(tzinfo=None),
            user="buchhaltung@mueller-sanitaer.de",
            user_truncated=False,
            message_id=MESSAGE_ID,
            action="reject",
            score=17.4,
            required_score=15.0,
            subject=SUBJECT,
            release_state=state,
        )
        for state in ("", "active", "active, used", "revoked")
    ]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_blocked_list_shows_both_ends_of_a_message_id(demo, size):
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        # rspamd's answer, as the list gets it (the stack tests read it from rspamd itself).
        report = BlockedReport(items=blocked_items(), warnings=[])
        app.screen.query_one(BlockedList).load_done(BlockedLoad(report))
        await pilot.pause()
        lines = shown(app)
        rows = [line for line in lines if "buchhaltung@" in line]
        assert len(rows) == 4
        for row in rows:
            start = row.index("<")
            shown_id = row[start : row.index(">", start) + 1]
            # The number that tells messages apart and the host that sent them.
            assert shown_id.startswith("<17960") and "@muelle" in shown_id
            assert SUBJECT[:9] in row
        assert "released" in rows[1] and "used" in rows[2] and "revoked" in rows[3]
        assert "Release" in lines[-1] and "Revoke release" in lines[-1]
        if size[0] == 160:
            assert all(f"<{MESSAGE_ID}>" in row and SUBJECT in row for row in rows)
            assert all("buchhaltung@mueller-sanitaer.de" in row for row in rows)


async def test_send_log_and_campaign_footers(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        footer = shown(app)[-1]
        for action in ("Suspend sending", "Reset password", "Mailbox", "All/suspicious"):
            assert action in footer, footer
        await pilot.press("escape")
        await pilot.press("f7")
        await settle(app, pilot)
        footer = shown(app)[-1]
        assert "Reload" in footer and "Keys" in footer


async def test_keys_panel_fits_and_scrolls_at_80x24(demo):
    address = must_change_address(demo)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, address)
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, KeysScreen)
        first = "\n".join(shown(app))
        # The screen's own keys first: visible without scrolling.
        assert "Suspend sending" in first and "Reset password" in first
        scroll = app.screen.query_one("#keys-scroll")
        seen = first
        for _ in range(12):
            await pilot.press("pagedown")
            await pilot.pause()
            seen += "\n".join(shown(app))
        # The Spam tab's keys are further down, reached by scrolling.
        for action in ("Save", "Allow sender", "Block sender", "Domain default"):
            assert action in seen, action
        assert scroll.scroll_y > 0
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MailboxScreen)


async def test_tabs_at_80_columns_show_every_label(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, must_change_address(demo))
        tabs = app.screen.query_one(TabbedContent)
        labels = [str(t.label) for t in tabs.query("Tab")]
        assert labels == list(MAILBOX_TABS)


def test_middle_clips_keep_both_ends():
    assert clip_message_id(MESSAGE_ID, 19) == "<1796061…@mueller…>"
    assert clip_message_id(MESSAGE_ID, 60) == f"<{MESSAGE_ID}>"
    assert clip_middle("abcdefghij", 5) == "ab…ij"
    assert clip_middle("abc", 5) == "abc"
    assert clip_middle("a\x1bbcdefgh", 6) == "a\\x…gh"


async def test_add_rule_example_is_whole_at_80x24(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, must_change_address(demo, 1))
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert "SCORE:ACTION[:ARG] …, e.g. 6:junk 12:delete" in "\n".join(shown(app))


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_audit_change_column_grows_with_the_terminal(demo, size):
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await open_mailbox(app, pilot, must_change_address(demo))
        await pilot.press("2")
        await settle(app, pilot)
        row = next(line for line in shown(app) if "T-4711" in line)
        change = str(app.screen.query_one("#mailbox-audit", DataTable).get_row_at(0)[4])
        assert change and change in row
        with demo.connect() as conn:
            [entry] = read(conn, target=must_change_address(demo))
        if size[0] == 160:
            assert change == entry.summary()
        else:
            assert len(change) >= 12 and entry.summary().startswith(change.rstrip("…"))
