"""The spam tab driven with Pilot: edit a ladder, watch the preview change, save with a ticket,
and the CLI shows the new ladder."""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from helpdesk.config import Config
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.mailboxes import create_mailbox
from screens.app import HelpdeskApp
from screens.dialogs.prompt import PromptDialog
from screens.dialogs.ticket import TicketDialog
from screens.mailbox import MailboxScreen
from screens.spam import SpamTab
from tests.conftest import run_cli

pytestmark = pytest.mark.tui

ADDRESS = "k.schaefer@baeckerei-koeln.de"


def write_log(path) -> None:
    lines = []
    for n, (score, sender) in enumerate(
        [(1.0, "a@news.example"), (5.2, "b@x.example"), (6.8, "c@x.example"),
         (7.4, "d@x.example"), (12.0, "e@x.example")]
    ):  # fmt: skip
        eid = f"1xX5{n}m-0005Mh-25"
        lines.append(
            f"2026-11-27 09:0{n}:00 {eid} spam-score={score} action=no action rcpt={ADDRESS}"
        )
        lines.append(f"2026-11-27 09:0{n}:00 {eid} <= {sender} H=([127.0.0.1]) [127.0.0.1] "
                     f'P=esmtp S=549 id={n}@t T="offer {n}" for {ADDRESS}')  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def make_app(db, log) -> HelpdeskApp:
    url = db.url.render_as_string(hide_password=False)
    return HelpdeskApp(Config(None, {"database": {"url": url}, "sendlog": {"paths": [str(log)]}}),
                       db=db)  # fmt: skip


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def summary(tab: SpamTab) -> str:
    return str(tab.query_one("#spam-preview-summary", Static).render())


def state(tab: SpamTab) -> str:
    return str(tab.query_one("#spam-state", Static).render())


async def test_edit_preview_save_and_cli_sees_it(db, tmp_path, config_file):
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, realname="Käthe Schäfer")
    log = tmp_path / "mainlog"
    write_log(log)
    app = make_app(db, log)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ADDRESS))
        await settle(app, pilot)
        app.screen.query_one(TabbedContent).active = "tab-spam"
        await settle(app, pilot)
        tab = app.screen.query_one(SpamTab)
        tab.query_one("#spam-ladder", DataTable).focus()
        await pilot.pause()
        assert "5 recent messages: 5 inbox" in summary(tab)
        assert "inherited" in state(tab)

        # add 6:junk: two messages (6.8, 7.4) go to Junk, 12.0 too
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"6:junk", "enter")
        await settle(app, pilot)
        assert "2 inbox, 0 marked, 3 junk" in summary(tab)

        # a typo is refused in the dialog, nothing changes
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"9:dlete", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        assert "unknown action" in str(app.screen.query_one("#prompt-error", Static).render())
        for _ in "9:dlete":
            await pilot.press("backspace")
        await pilot.press(*"10:delete", "enter")
        await settle(app, pilot)
        assert "2 inbox, 0 marked, 2 junk, 0 forwarded, 1 deleted" in summary(tab)
        assert "warning" not in state(tab)

        # nudge the delete threshold down twice: 9.0 -- still no warning; once more: 8.5 warns
        ladder = tab.query_one("#spam-ladder", DataTable)
        ladder.move_cursor(row=1)
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert [r.spec() for r in tab.ladder] == ["6.0:junk", "9.0:delete"]
        await pilot.press("minus")
        await pilot.pause()
        assert "warning: delete from 8.5 is below 9" in state(tab)
        await pilot.press("plus")
        await pilot.pause()

        # move: swapping actions would put delete below junk: refused in the status line
        await pilot.press("shift+up")
        await pilot.pause()
        assert "Cannot save" in state(tab)
        await pilot.press("shift+down")
        await pilot.pause()
        assert [r.spec() for r in tab.ladder] == ["6.0:junk", "9.0:delete"]
        assert "Cannot save" not in state(tab)

        # allow a whole domain: all of its messages go back to the inbox
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*"@x.example", "enter")
        await settle(app, pilot)
        assert "5 recent messages: 5 inbox" in summary(tab)
        await pilot.press("tab")  # to the sender list
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert tab.allow == ()
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*"d@x.example", "enter")
        await settle(app, pilot)

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, TicketDialog)
        await pilot.press(*"T-77", "enter", *"caller has too much spam", "enter", "f2")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        assert "own ladder" in state(tab) and "unsaved" not in state(tab)
        # the screen reloaded the mailbox: its audit tab shows the change
        audit = app.screen.query_one("#mailbox-audit", DataTable)
        assert any(str(audit.get_row_at(i)[2]) == "spam.set" for i in range(audit.row_count))

    out = run_cli("spam", "show", ADDRESS, "--json", config=config_file)
    data = json.loads(out.stdout)
    assert data["inherited"] is False
    assert data["ladder"] == [
        {"score": 6.0, "action": "junk", "arg": None},
        {"score": 9.0, "action": "delete", "arg": None},
    ]
    assert data["allow"] == ["d@x.example"]
    with db.connect() as conn:
        (entry,) = [e for e in read(conn, target=ADDRESS) if e.action == "spam.set"]
    assert entry.ticket == "T-77" and entry.reason == "caller has too much spam"
    assert entry.after["ladder"] == ["6.0:junk", "9.0:delete"]


async def test_tab_works_without_a_log(db, tmp_path):
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, realname="Käthe Schäfer")
    app = make_app(db, tmp_path / "no-such-mainlog")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(ADDRESS))
        await settle(app, pilot)
        app.screen.query_one(TabbedContent).active = "tab-spam"
        await settle(app, pilot)
        tab = app.screen.query_one(SpamTab)
        assert "no preview: log file not found" in summary(tab)
        tab.query_one("#spam-ladder", DataTable).focus()
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"6:junk", "enter")
        await settle(app, pilot)
        assert [r.spec() for r in tab.ladder] == ["6.0:junk"]
        assert "unsaved changes" in state(tab)
