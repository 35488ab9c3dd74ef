"""After `helpdesk passwd` the new password logs in over IMAP and SMTP AUTH, the old one not."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.stack

OLD = "Alt-Passwort-Birne-77"


def test_reset_takes_effect_at_once_for_imap_and_smtp(stack, tmp_path):
    address = stack.unique_address("reset")
    stack.add_mailbox(address, OLD)
    assert stack.imap_login(address, OLD) and stack.smtp_login(address, OLD)

    # the stack's own config, with the defaults of [passwords] (SHA512-CRYPT, 50,000 rounds)
    done = run_cli(
        "passwd", address, "--generate", "--ticket", "STACK-1", "--json",
        config=stack.config_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    new = json.loads(done.stdout)["password"]
    assert stack.imap_login(address, new), "new password refused over IMAP"
    assert stack.smtp_login(address, new), "new password refused over SMTP AUTH"
    assert not stack.imap_login(address, OLD), "old password still works over IMAP"
    assert not stack.smtp_login(address, OLD), "old password still works over SMTP AUTH"

    # a typed one, hashed with bcrypt and a {BLF-CRYPT} prefix (Dovecot reads both forms)
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "{stack.database_url}"\n'
        '[passwords]\nscheme = "BLF-CRYPT"\nprefix = true\n'
    )
    config.chmod(0o600)
    typed = "Nordwand-Kaffeetasse-Pirol-83"
    done = run_cli(
        "passwd", address, "--password-stdin", "--ticket", "STACK-2", config=config,
        stdin=typed + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stack.imap_login(address, typed) and stack.smtp_login(address, typed)
    assert not stack.imap_login(address, new) and not stack.smtp_login(address, new)

    # the servers' logs name the account, never its password
    logs = [p for p in stack.mainlog.parent.rglob("*") if p.is_file()]
    assert stack.mainlog in logs
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in (new, typed, OLD):
            assert secret not in text, f"{secret!r} found in {path}"


async def test_reset_from_the_tui_works_at_once(stack):
    from textual.widgets import Static

    from helpdesk.config import Config
    from screens.app import HelpdeskApp
    from screens.mailbox import MailboxScreen
    from screens.reset import ResetPasswordScreen

    address = stack.unique_address("tui")
    stack.add_mailbox(address, OLD)
    app = HelpdeskApp(Config(None, {"database": {"url": stack.database_url}}), db=stack.db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(MailboxScreen(address))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ResetPasswordScreen)
        # The ticket field has the focus; only F2 confirms a write.
        await pilot.press(*"T-1042", "f2")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        new = str(app.screen.query_one("#result-password", Static).render()).strip()
        await pilot.press("escape")
        await pilot.pause()
    assert stack.imap_login(address, new) and stack.smtp_login(address, new)
    assert not stack.imap_login(address, OLD) and not stack.smtp_login(address, OLD)
