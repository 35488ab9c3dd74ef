"""The reset dialog's view of the new password (screens/reset_result.py) holds it only until
the dialog closes: after Enter, Esc or Done none of its widgets still shows it."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from helpdesk.mailcenter.db import Database
from screens.mailbox import MailboxScreen
from tests.test_reset_tui import make_app, open_dialog, seed, settle

pytestmark = pytest.mark.tui


@pytest.fixture
def sqlite_db(tmp_path):
    """What the dialog shows does not depend on the server: SQLite is enough here."""
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    seed(db)
    yield db
    db.dispose()


def shown(widget: Static) -> str:
    return str(widget.render()).strip()


@pytest.mark.parametrize("key", ["enter", "escape"])
async def test_closing_empties_the_password_and_its_spelling(sqlite_db, key):
    app = make_app(sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        dialog = await open_dialog(app, pilot)
        await pilot.press(*"T-901", "f2")
        await settle(app, pilot)
        password = dialog.query_one("#result-password", Static)
        spelling = dialog.query_one("#result-spelling", Static)
        part = shown(password).split("-")[0]
        assert part and f"{part}: " in shown(spelling)
        await pilot.press(key)
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen)
        assert shown(password) == "" and shown(spelling) == ""
