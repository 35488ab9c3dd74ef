"""F6 starts with one line: is the server listed, and which providers refuse us (issue 17)."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from screens.app import HelpdeskApp
from screens.sendlog import SendLogScreen
from tests.screen_check import screen_output
from tests.test_reputation import DQS_KEY, resolver, write_config  # noqa: F401  (fixture)
from tests.test_reputation_providers import shifted_log

pytestmark = pytest.mark.tui


async def _open_send_log(config_path, tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'mc.sqlite'}")
    db.create_schema()
    app = HelpdeskApp(load_config(config_path), db=db)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.push_screen(SendLogScreen())
            for _ in range(100):
                await pilot.pause(0.1)
                await app.workers.wait_for_complete()
                line = screen_output(app)[0].split("\n")[1]
                if "asking" not in line:
                    break
            return screen_output(app)[0].split("\n"), app.screen
    finally:
        db.dispose()


async def test_the_send_log_opens_with_the_listing_and_the_refusing_providers(
    resolver,  # noqa: F811
    tmp_path,
):
    log = shifted_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    config = write_config(tmp_path / "helpdesk.toml", resolver, ["192.0.2.10"], key=DQS_KEY)
    config.write_text(config.read_text() + f'[sendlog]\npaths = ["{log}"]\n')
    rows, screen = await _open_send_log(config, tmp_path)
    assert isinstance(screen, SendLogScreen)
    # Right under the header, one line, cut with … where 80 columns end.
    assert rows[1].strip().startswith("LISTED: 192.0.2.10 on zen.spamhaus.org (XBL)"), rows[:3]


async def test_without_reputation_settings_there_is_no_such_line(tmp_path):
    log = tmp_path / "mainlog"
    log.write_text("")
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[sendlog]\npaths = ["{log}"]\n')
    rows, _screen = await _open_send_log(config, tmp_path)
    assert not any("LISTED" in row or "Blocklists" in row for row in rows)
