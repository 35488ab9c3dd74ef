"""The subject of a refused message comes from Exim's reject line (rspamd's built-in history has
none), so the blocked list never shows "—" for it; a hostile subject, sent through the stack's
real Exim and rspamd, is text everywhere: in the mainlog, `helpdesk blocked`, and the Blocked
mail screen (encoded words, control bytes, markup, a folded header)."""

from __future__ import annotations

import json
import os
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from textual.widgets import DataTable

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from screens.blocked import BlockedScreen
from screens.dialogs.release import ReleaseDialog
from tests.conftest import run_cli
from tests.hostile import VALUES, assert_clean, assert_markup_shown
from tests.rspamd_tools import new_message_id
from tests.screen_check import WatchedApp, check, settle
from tests.smtp_tools import submit

pytestmark = pytest.mark.stack
PASSWORD = "Kunden-Passwort-15!"

# As a mail program puts them in the header: the encoded word hides an OSC 52 (clipboard) and
# a bell; markup that would quit the app; a header folded onto a second line.
HEADERS = {
    "encoded": "=?utf-8?q?Rechnung_=1B]52;c;eA=3D=3D=07_f=C3=BCr_Sie?= HELPDESK-TEST-SPAM",
    "markup": f"{VALUES['markup-quit']} {VALUES['markup-click']} HELPDESK-TEST-SPAM",
    "folded": "Angebot [b]x[/b] HELPDESK-TEST-SPAM\r\n und weiter",
    "bidi": f"{VALUES['bidi']} HELPDESK-TEST-SPAM",
}
# What the operator's data (--json) holds: decoded and unfolded, otherwise exactly as sent.
DECODED = {
    "encoded": "Rechnung \x1b]52;c;eA==\x07 für Sie HELPDESK-TEST-SPAM",
    "markup": HEADERS["markup"],
    "folded": "Angebot [b]x[/b] HELPDESK-TEST-SPAM und weiter",
    "bidi": HEADERS["bidi"],
}


def _send(stack, user: str, subject_header: str) -> str:
    mid = new_message_id("subj")
    msg = EmailMessage()
    msg["From"] = user
    msg["To"] = "kunde@example.net"
    msg["Message-ID"] = f"<{mid}>"
    msg.set_content("Guten Tag,\nanbei die Unterlagen.\n")
    # The header exactly as given (email would encode or refuse the control bytes).
    raw = msg.as_bytes().replace(b"\nTo:", b"\nSubject: " + subject_header.encode() + b"\nTo:", 1)
    assert submit(stack, user, PASSWORD, message_from_bytes(raw, policy=SMTP)) == 550
    return mid


@pytest.fixture(scope="module")
def refused(stack) -> tuple[str, dict[str, str]]:
    """One account, one refused message per hostile subject: name -> Message-ID."""
    user = stack.add_mailbox(f"betreff.{os.urandom(4).hex()}@firma.test", PASSWORD)
    return user, {name: _send(stack, user, header) for name, header in HEADERS.items()}


def test_the_mainlog_line_holds_no_control_byte(stack, refused):
    _, mids = refused
    for name, mid in mids.items():
        (line,) = stack.wait_for_log(r"rejected after DATA: .* id=\"?<" + re.escape(mid))
        # Exim writes the subject's bytes as \ooo: `tail -f mainlog` runs nothing.
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in line), (name, line)


def test_blocked_shows_the_subject_from_exims_line_as_text(stack, refused):
    user, mids = refused
    out = run_cli("blocked", "--user", user, "--json", config=stack.config_path)
    assert out.returncode == 0, out.stderr
    subjects = {e["message_id"]: e["subject"] for e in json.loads(out.stdout)["blocked"]}
    # rspamd's built-in history has no subject: each one came from Exim's reject line.
    assert {name: subjects[mid] for name, mid in mids.items()} == DECODED
    human = run_cli("blocked", "--user", user, config=stack.config_path).stdout
    assert_clean(human, where="helpdesk blocked")
    assert "Subject: Rechnung \\x1b]52;c;eA==\\x07 für Sie" in human
    assert "Subject: Angebot [b]x[/b] HELPDESK-TEST-SPAM und weiter" in human


async def test_the_blocked_screen_shows_each_subject_as_text(stack, refused):
    user, mids = refused
    db = Database(stack.database_url)
    app = WatchedApp(load_config(stack.config_path), db=db)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(app, pilot)
        app.push_screen(BlockedScreen())
        await settle(app, pilot)
        await pilot.press("slash", *user.split("@")[0], "tab")
        await settle(app, pilot)
        table = app.screen.query_one("#blocked-table", DataTable)
        shown = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert len(shown) == len(HEADERS) and "—" not in shown
        assert any(s.startswith("Rechnung \\x1b]52;c;eA==\\x07 für Sie") for s in shown), shown
        assert any(s.startswith("[@click=app.quit]bye[/]") for s in shown), shown
        for text in shown:
            assert_clean(text, where="subject cell")
            assert_markup_shown(text, where="subject cell")
        check(app, "blocked list with hostile subjects")
        for row in range(table.row_count):  # each one's verdict, whole, and release dialog
            table.move_cursor(row=row)
            await pilot.press("enter")
            await settle(app, pilot)
            check(app, f"verdict {row}")
            await pilot.press("escape")
            await settle(app, pilot)
            await pilot.press("l")
            await settle(app, pilot)
            assert isinstance(app.screen, ReleaseDialog)
            check(app, f"release dialog {row}")  # the text to read out names the subject
            await pilot.press("escape")
            await settle(app, pilot)
    db.dispose()
