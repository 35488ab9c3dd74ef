"""The reset dialog driven with Pilot: a generated reset, then a typed one (weak, then strong)."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from helpdesk.config import Config
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, password_hash
from helpdesk.passwords.policy import PasswordSettings, hash_password, verify_password
from helpdesk.passwords.spelling import spell
from screens.app import HelpdeskApp
from screens.mailbox import MailboxScreen
from screens.reset import ResetPasswordScreen

pytestmark = pytest.mark.tui

ADDRESS = "k.schaefer@baeckerei-koeln.de"
OLD = "Alt-Passwort-Birne-77"
STRONG = "Nordwand-Kaffeetasse-Pirol-83"


def make_app(db) -> HelpdeskApp:
    url = db.url.render_as_string(hide_password=False)
    config = Config(None, {"database": {"url": url}, "passwords": {"rounds": 5000}})
    return HelpdeskApp(config, db=db)


def seed(db) -> None:
    with db.begin() as conn:
        create_mailbox(
            conn,
            ADDRESS,
            realname="Käthe Schäfer",
            customer_ref="KD-4711",
            password_hash=hash_password(OLD, PasswordSettings(rounds=5000)),
        )


def stored(db) -> str:
    with db.connect() as conn:
        return password_hash(conn, get_mailbox(conn, ADDRESS))


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_dialog(app, pilot) -> ResetPasswordScreen:
    app.push_screen(MailboxScreen(ADDRESS))
    await settle(app, pilot)
    assert isinstance(app.screen, MailboxScreen)
    await pilot.press("p")
    await settle(app, pilot)
    assert isinstance(app.screen, ResetPasswordScreen)
    return app.screen


async def test_generated_reset_shows_password_once_and_copies_it(db):
    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        # generate is the default: no password field, the ticket has the focus
        assert not dialog.query_one("#reset-password").display
        await pilot.press("enter")
        await pilot.pause()
        assert "F2 resets the password" in text_of(dialog, "#reset-error")
        await pilot.press("f2")
        await pilot.pause()
        assert "ticket reference is required" in text_of(dialog, "#reset-error")
        dialog.query_one("#reset-ticket").focus()
        await pilot.press(*"T-900", "enter")
        await pilot.pause()
        assert not dialog.query_one("#reset-result").display  # Enter did not reset
        await pilot.press("f2")
        await settle(app, pilot)
        assert app.screen is dialog and dialog.query_one("#reset-result").display
        shown = text_of(dialog, "#result-password").strip()
        assert verify_password(shown, stored(db))
        # The operator works in English: so does the customer, until F8 says otherwise.
        assert "Customer: English (F8 switches)" in text_of(dialog, "#result-language")
        spelling = text_of(dialog, "#result-spelling")
        first = shown.split("-")[0]
        assert spelling.startswith("NATO") and "(Dash)" in spelling
        assert f"{first}: " + " ".join(spell(first, "nato")) in spelling
        await pilot.press("f8")
        await pilot.pause()
        assert "Customer: Deutsch (F8 switches)" in text_of(dialog, "#result-language")
        spelling = text_of(dialog, "#result-spelling")
        assert "(Bindestrich)" in spelling
        assert f"{first}: " + " ".join(spell(first)) in spelling
        assert spelling.splitlines()[1].startswith(f"{first}: ")  # one part a line
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == shown
        assert "terminal (OSC 52" in text_of(dialog, "#result-copy")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        # the dialog forgot it, and so did the app's own clipboard copy
        assert dialog._password is None and app.clipboard == ""
        await settle(app, pilot)
        details = str(app.screen.query_one("#mailbox-details", Static).render())
        assert "must change at next login" in details
    with db.connect() as conn:
        (entry,) = read(conn, target=ADDRESS)
    assert entry.action == "passwd" and entry.ticket == "T-900" and entry.operator
    assert entry.after["must_change_password"] is True
    assert shown not in repr(entry.as_json())


async def test_typed_reset_weak_is_refused_with_warning_then_strong_works(db):
    seed(db)
    before = stored(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        dialog.query_one("#mode-type").value = True
        await settle(app, pilot)
        field = dialog.query_one("#reset-password", Input)
        assert field.display and app.focused is field and field.password
        await pilot.press(*"Sommer2016!")
        await settle(app, pilot)
        meter = text_of(dialog, "#reset-meter")
        assert "3 needed" in meter and "number or year" in meter
        await pilot.press("enter")  # on to the checkbox, not into a text field
        assert app.focused is dialog.query_one("#reset-force")
        dialog.query_one("#reset-ticket").focus()
        await pilot.press(*"T-901")
        dialog.query_one("#reset-force").value = False
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog and stored(db) == before  # Enter does not write
        await pilot.press("f2")
        await settle(app, pilot)
        error = text_of(dialog, "#reset-error")
        assert "too weak" in error and "Sommer2016!" not in error
        assert app.screen is dialog and stored(db) == before

        field.value = ""
        field.focus()
        await pilot.press(*STRONG)
        await settle(app, pilot)
        assert "enough" in text_of(dialog, "#reset-meter")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog and stored(db) == before
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        assert field.value == ""
    assert verify_password(STRONG, stored(db))
    with db.connect() as conn:
        mailbox = get_mailbox(conn, ADDRESS)
        (entry,) = read(conn, target=ADDRESS)
    assert mailbox.must_change_password is False
    assert entry.action == "passwd" and entry.ticket == "T-901"
    assert entry.after["must_change_password"] is False
    assert STRONG not in repr(entry.as_json())


async def test_dialog_fits_80x24(db):
    seed(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        dialog.query_one("#mode-type").value = True
        await settle(app, pilot)
        for selector in ("#reset-password", "#reset-ticket", "#reset-force", "#reset-confirm"):
            region = dialog.query_one(selector).region
            assert region.height > 0 and region.bottom <= 24 and region.right <= 80, selector


async def test_campaign_screen_shows_progress(db):
    from datetime import datetime

    from sqlalchemy import update

    from helpdesk.mailcenter.audit import Operator
    from helpdesk.mailcenter.schema import mailboxes
    from helpdesk.passwords.campaign import apply_campaign
    from screens.campaign import CampaignScreen

    seed(db)
    with db.begin() as conn:
        create_mailbox(conn, "zweite@baeckerei-koeln.de")
    applied = apply_campaign(
        db,
        before=datetime(2099, 1, 1),
        settings=PasswordSettings(),
        ticket="C-77",
        operator=Operator("berta"),
    )
    assert applied.flagged == 2
    with db.begin() as conn:
        conn.execute(
            update(mailboxes)
            .where(mailboxes.c.address == ADDRESS)
            .values(password_changed_at=datetime(2099, 6, 1))
        )
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(CampaignScreen())
        await settle(app, pilot)
        table = app.screen.query_one("#campaign-table")
        assert table.row_count == 1
        row = table.get_row_at(0)
        assert str(row[2]) == "1/2" and str(row[3]).endswith("50%") and str(row[4]) == "C-77"
        assert "1 mailbox still to change" in text_of(app.screen, "#campaign-status")
