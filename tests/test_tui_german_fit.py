"""The screens and dialogs added late, at 80×24 in German: nothing is cut where the English fits.

Each walk runs twice, in English and in German, and stops at the same places. At each stop
every visible text widget (Static, Label, Button) of the top screen is paired with its English
twin: when the English text is on screen with every word whole, the German one must be too.
The footer is compared the same way, key by key. German words are longer; this finds a label
that the English fits and the German overruns, a button cut to `Deaktivi…`, a footer that
loses a key in German."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import insert, update
from textual.widgets import Button, DataTable, TabbedContent
from textual.widgets._footer import FooterKey

from helpdesk.config import load_config
from helpdesk.i18n import set_language
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import forwards, mailboxes
from screens.dialogs.ticket import TicketDialog
from screens.forwards import AutoReplyDialog, ForwardDialog, ForwardsTab
from screens.limits import LimitsDialog
from screens.logins import CardScreen
from screens.mailbox import MailboxScreen
from screens.sieve_chain import SieveChainScreen
from tests import test_forward_tui, test_limits_tui, test_logins_tui, test_sweep_tui
from tests.screen_check import WatchedApp, screen_output, settle

pytestmark = pytest.mark.tui
SIZE = (80, 24)
_TOKENS = re.compile(r"[^\s█▎▊▔▁│┃╭╮╰╯─━▏▕]+")


@dataclass
class Stop:
    """What one stop of a walk showed: the screen, its text widgets and its footer keys."""

    screen: str
    texts: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    footer: str = ""


def _take(app) -> Stop:
    text = screen_output(app)[0]
    stop = Stop(text, footer=text.split("\n")[-1])
    for widget in app.screen.query("Static, Button"):
        if not widget.display or not widget.region.area:
            continue
        shown = str(widget.label) if isinstance(widget, Button) else str(widget.render())
        stop.texts.append(shown)
    for key in app.screen.query(FooterKey):
        if key.region.area:
            stop.keys[key.key] = key.description
    return stop


def _whole(text: str, screen: str) -> bool:
    """Every word of `text` is on `screen` whole and in order."""
    tokens = _TOKENS.findall(screen)
    position = 0
    for word in _TOKENS.findall(text):
        try:
            position = tokens.index(word, position) + 1
        except ValueError:
            return False
    return True


Walk = Callable[[Callable[[str], Awaitable[None]], Path], Awaitable[None]]


async def _walk(walk: Walk, lang: str, tmp_path: Path) -> dict[str, tuple[Stop, str]]:
    set_language(lang)
    stops: dict[str, tuple[Stop, str]] = {}
    folder = tmp_path / lang
    folder.mkdir()

    async def stop_here(name: str, app, kind: type | None = None) -> None:
        if kind is not None:
            assert isinstance(app.screen, kind), (name, app.screen)
        stops[name] = (_take(app), type(app.screen).__name__)

    try:
        await walk(stop_here, folder)
    finally:
        set_language("en")
    return stops


async def assert_german_fits(walk: Walk, tmp_path: Path) -> None:
    english = await _walk(walk, "en", tmp_path)
    german = await _walk(walk, "de", tmp_path)
    assert list(german) == list(english)
    compared = 0
    for name, (en, en_kind) in english.items():
        de, de_kind = german[name]
        assert de_kind == en_kind, name
        assert len(de.texts) == len(en.texts), (name, en.texts, de.texts)
        for en_text, de_text in zip(en.texts, de.texts, strict=True):
            if en_text.strip() and _whole(en_text, en.screen):
                compared += 1
                assert _whole(de_text, de.screen), (
                    f"{name}: {de_text!r} is cut in German where {en_text!r} fits:\n{de.screen}"
                )
        for key, description in en.keys.items():
            if description and _whole(description, en.footer):
                assert key in de.keys and _whole(de.keys[key], de.footer), (
                    f"{name}: footer key {key} ({description!r}) lost in German:\n{de.footer}"
                )
        assert de.screen != en.screen, f"{name}: the German walk showed English"
    # A walk that compared nothing proves nothing.
    assert compared >= len(english), compared


async def _forwards(stop, folder: Path) -> None:
    app, db = test_forward_tui._app(folder)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(test_forward_tui.Host())
        await test_forward_tui._summary(app, pilot)
        await stop("forwards tab, none", app)
        app.screen.query_one(ForwardsTab).focus()
        await pilot.press("f")
        await settle(app, pilot)
        await stop("forward dialog", app, ForwardDialog)
        await pilot.press(*"HD-1")
        app.screen.query_one("#fwd-targets").value = "kollege@extern.example"
        await pilot.press("f2")
        await test_forward_tui._summary(app, pilot)
        await stop("forwards tab, a forward", app)
        await pilot.press("a")
        await settle(app, pilot)
        await stop("auto-reply dialog", app, AutoReplyDialog)
        await pilot.press(*"HD-2")
        app.screen.query_one("#ar-until").value = "2099-01-15"
        await pilot.press("f2")
        await test_forward_tui._summary(app, pilot)
        await stop("forwards tab, both", app)
        await pilot.press("x")
        await settle(app, pilot)
        await stop("remove forward: ticket", app, TicketDialog)
    db.dispose()


async def test_forwards_tab_and_its_dialogs(tmp_path):
    await assert_german_fits(_forwards, tmp_path)


async def _limits(stop, folder: Path) -> None:
    app, db = test_limits_tui._setup(folder)
    async with app.run_test(size=SIZE) as pilot:
        await test_limits_tui._open(app, pilot)
        await stop("overview with limits", app, MailboxScreen)
        await test_limits_tui._dialog(app, pilot)
        await stop("F4 limits dialog", app, LimitsDialog)
    db.dispose()


async def test_limits_dialog(tmp_path):
    await assert_german_fits(_limits, tmp_path)


async def _sweep(stop, folder: Path) -> None:
    url = f"sqlite:///{folder / 'mailcenter.sqlite'}"
    db = Database(url)
    db.create_schema()
    with db.begin() as conn:
        mailbox_id = create_mailbox(conn, test_sweep_tui.ADDRESS, password_hash="x")
        conn.execute(insert(forwards).values(mailbox_id=mailbox_id, target="loot@evil.example"))
        conn.execute(update(mailboxes).values(password_hash="y"))
    config = folder / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(test_sweep_tui.Host())
        rows = await test_sweep_tui._rows(app, pilot)
        await stop("sweep tab", app)
        table = app.screen.query_one("#sweep-table", DataTable)
        table.focus()
        table.move_cursor(row=next(i for i, r in enumerate(rows) if "loot@evil.example" in r))
        await pilot.press("u")
        await settle(app, pilot)
        await stop("sweep undo: ticket", app, TicketDialog)
    db.dispose()


async def test_sweep_tab_and_its_undo(tmp_path):
    await assert_german_fits(_sweep, tmp_path)


async def _card(stop, folder: Path) -> None:
    app = await test_logins_tui._open(folder)
    async with app.run_test(size=SIZE) as pilot:
        await test_logins_tui._read(app, pilot)
        await stop("logins tab", app)
        app.screen.query_one("#logins-table", DataTable).focus()
        await pilot.press("k")
        await settle(app, pilot)
        await stop("client-settings card", app, CardScreen)


async def test_logins_tab_and_client_settings_card(tmp_path):
    await assert_german_fits(_card, tmp_path)


@pytest.mark.stack
async def test_sieve_chain_of_the_forwards_tab(stack, tmp_path):
    from tests.test_forward_sieve_stack import put_customer_script
    from tests.test_spam_stack import PASSWORD

    address = stack.add_mailbox(stack.unique_address("chainde"), PASSWORD)
    put_customer_script(stack, address)

    async def walk(stop, folder: Path) -> None:
        db = Database(stack.database_url)
        app = WatchedApp(load_config(stack.config_path), db=db)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            app.push_screen(MailboxScreen(address))
            await settle(app, pilot)
            app.screen.query_one("#mailbox-tabs", TabbedContent).active = "tab-forwards"
            await settle(app, pilot, 0.2)
            app.screen.query_one(ForwardsTab).focus()
            await pilot.press("v")
            for _ in range(100):
                await settle(app, pilot, 0.05)
                if isinstance(app.screen, SieveChainScreen) and app.screen.query(
                    "#chain-body Static"
                ):
                    break
            await settle(app, pilot, 0.2)
            await stop("sieve chain", app, SieveChainScreen)
            await pilot.press("d")
            await settle(app, pilot)
            await stop("deactivate: ticket", app, TicketDialog)
        db.dispose()

    await assert_german_fits(walk, tmp_path)


def test_the_comparison_finds_a_cut_word():
    # The check above is blind if `_whole` accepts a word cut by the edge of the screen.
    screen = "│ Weiterleitung an kolle…  │\n f Weiterl. "
    assert _whole("Weiterleitung an", screen)
    assert not _whole("Weiterleitung an kollege@extern.example", screen)
    assert not _whole("Weiterleitung ändern", screen)
