"""The "Forwards & replies" tab at 80×24: set, see and remove a forward and an auto-reply with
the keyboard, each write confirmed with F2 and audited; typing into the tab never writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log, autoreplies, forwards
from screens.forwards import TAB_LABEL, AutoReplyDialog, ForwardDialog, ForwardsTab
from screens.translated import Translated
from tests.screen_check import WatchedApp, check, settle

pytestmark = pytest.mark.tui
ADDRESS = "urlaub@capture.example"
SIZE = (80, 24)


class Host(Translated, Screen[None]):
    def compose(self) -> ComposeResult:
        with TabbedContent(), TabPane(TAB_LABEL, id="tab-forwards"):
            yield ForwardsTab(ADDRESS)
        yield Footer()


def _app(tmp_path: Path) -> tuple[WatchedApp, Database]:
    url = f"sqlite:///{tmp_path / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, password_hash="x", realname="Uwe Urlaub")
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    return WatchedApp(load_config(config)), db


async def _summary(app, pilot) -> str:
    tab = app.screen.query_one(ForwardsTab)
    for _ in range(100):
        await pilot.pause(0.05)
        if tab.data is not None and not tab.running("read") and not tab.running("write"):
            break
    await settle(app, pilot)
    return str(app.screen.query_one("#forwards-summary", Static).render())


async def test_set_see_and_remove_forward_and_autoreply_with_keys(tmp_path):
    app, db = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(Host())
        assert "none" in await _summary(app, pilot)
        check(app, "forwards tab empty")
        app.screen.query_one(ForwardsTab).focus()  # as Tab or Enter on the tab bar does

        # Typing a name on the tab opens a dialog at most; Enters never confirm.
        await pilot.press(*"frank", "enter", "enter")
        await settle(app, pilot)
        with db.connect() as conn:
            assert conn.execute(select(forwards)).first() is None
        await pilot.press("escape")
        await settle(app, pilot)

        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, ForwardDialog)
        check(app, "forward dialog")
        await pilot.press(*"HD-1")
        app.screen.query_one("#fwd-targets").value = "kollege@extern.example"
        await pilot.press("f2")
        text = await _summary(app, pilot)
        assert "kollege@extern.example" in text and "keeps a copy" in text

        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, AutoReplyDialog)
        check(app, "auto-reply dialog")
        await pilot.press(*"HD-2")
        app.screen.query_one("#ar-until").value = "2099-01-15"
        await pilot.press("f2")
        text = await _summary(app, pilot)
        assert "Thank you for your message" in text and "2099-01-15" in text
        check(app, "forwards tab with both")

        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press(*"HD-3", "f2")
        await _summary(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press(*"HD-3", "f2")
        text = await _summary(app, pilot)
        assert "kollege" not in text and "Thank you" not in text
    with db.connect() as conn:
        assert conn.execute(select(forwards)).first() is None
        assert conn.execute(select(autoreplies)).first() is None
        actions = [r.action for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]
    assert actions == ["forward.set", "autoreply.set", "forward.clear", "autoreply.clear"]
    db.dispose()


async def test_a_bad_target_keeps_the_dialog_open_and_writes_nothing(tmp_path):
    app, db = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(Host())
        await _summary(app, pilot)
        app.screen.query_one(ForwardsTab).focus()
        await pilot.press("f")
        await settle(app, pilot)
        await pilot.press(*"HD-1")
        app.screen.query_one("#fwd-targets").value = "not an address"
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, ForwardDialog)
        error = str(app.screen.query_one("#dialog-error", Static).render())
        assert "not a mail address" in error
    with db.connect() as conn:
        assert conn.execute(select(forwards)).first() is None
    db.dispose()


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_the_autoreply_dialog_shows_title_fields_and_buttons_at_80x24(tmp_path, lang):
    from helpdesk.i18n import _, set_language
    from tests.screen_check import screen_output

    app, _db = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        set_language(lang)
        await app.push_screen(Host())
        await settle(app, pilot)
        app.screen.query_one(ForwardsTab).focus()
        await pilot.press("a")
        await settle(app, pilot)
        text = screen_output(app)[0]
        for wanted in (ADDRESS, _("Until (empty: open)"), "[F2]", "[Esc]"):
            assert wanted in text, f"{wanted!r} is not in view:\n{text}"
        set_language("en")
