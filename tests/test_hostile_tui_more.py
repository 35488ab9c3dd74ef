"""Hostile text on the screens added with forwards and limits (the Sieve scripts, the outbound
picture): the checks of tests/test_hostile_tui.py, on the same world of hostile values."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from helpdesk.config import load_config
from helpdesk.mailcenter.db import Database
from tests.hostile import VALUES
from tests.screen_check import WatchedApp, check, look, settle
from tests.test_hostile_cli import DB_VALUES, DOMAIN, USER
from tests.test_hostile_tui import SIZE, controller, world

pytestmark = pytest.mark.tui
__all__ = ["controller", "world"]  # module fixtures shared with tests/test_hostile_tui.py


async def test_sieve_chain_screen(world, tmp_path):
    """Global Sieve scripts (found by the real doveconf) full of hostile strings, one the parser
    reads into words and one it does not: the scripts screen and `helpdesk sieve` show text."""
    import shutil

    from screens.sieve_chain import SieveChainScreen
    from tests.conftest import run_cli
    from tests.hostile import RAW_BYTES, assert_clean

    def sieve(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rules = ['require ["fileinto", "vacation"];']
    for value in VALUES.values():
        rules.append(
            f"if header :contains {sieve(value)} {sieve(value)} {{ fileinto {sieve(value)}; }}"
        )
        rules.append(f"redirect {sieve(value)};")
    # Raw bytes as a file holds them: a lone surrogate is the Latin-1 byte it stands for.
    (tmp_path / "10-words.sieve").write_bytes(
        ("\n".join(rules) + "\n").encode("utf-8", "surrogateescape")
    )
    text = "if broken {\n" + "\n".join(VALUES.values())
    (tmp_path / "20-text.sieve").write_bytes(
        text.encode("utf-8", "surrogateescape") + b"\n".join(RAW_BYTES.values())
    )
    conf = tmp_path / "dovecot.conf"
    conf.write_text(f"plugin {{\n  sieve_after = {tmp_path}\n}}\n")
    config = tmp_path / "helpdesk.toml"
    doveconf = shutil.which("doveconf")
    assert doveconf, "doveconf (dovecot-core) is needed"
    config.write_text(
        world.read_text() + f'\n[sieve]\ndoveconf_command = ["{doveconf}", "-c", "{conf}"]\n'
    )
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(SieveChainScreen(USER))
        text = await look(app, pilot, "sieve scripts")
        body = "\n".join(str(w.render()) for w in app.screen.query("#chain-body Static"))
        assert "10-words.sieve" in body and "20-text.sieve" in body
        assert "if the header “[b]x[/b]” contains “[b]x[/b]”: file into folder “[b]x[/b]”" in body
        assert "Not understood" in body and "[@click=app.quit]bye[/]" in body
        assert "sieve_after" in text
        for _ in range(8):
            await pilot.press("pagedown")
            await look(app, pilot, "sieve scripts, further down")
        await pilot.press("d")  # no customer script: a notice, no dialog
        await look(app, pilot, "sieve scripts, nothing to deactivate")
        assert isinstance(app.screen, SieveChainScreen)
        await pilot.press("escape")
    done = run_cli("sieve", USER, config=config)
    assert done.returncode == 0, done.stderr
    assert_clean(done.stdout, where="helpdesk sieve")
    assert "“[b]x[/b]”" in done.stdout


async def test_outbound_line_and_view(tmp_path):
    """Accounts over a limit from the log, the watcher's audit rows from the database: every
    hostile value as the account, the limit, the ticket, the reason and the evidence's kind."""
    from datetime import timedelta

    from helpdesk.mailcenter.audit import Operator, record
    from screens.outbound import OutboundScreen
    from screens.sendlog import SendLogScreen
    from tests.hostile import RAW_BYTES
    from tests.test_hostile_cli import EXIM_NOW, _exim_escape, _token

    stamp = (EXIM_NOW - timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M:%S")
    log = [
        f"{stamp} H=(pc) [10.0.0.5]:5001 I=[127.0.0.1]:587 rejected DATA: helpdesk limit: "
        f"{_exim_escape(value)[:60]} A={_token(value)}@{DOMAIN} action=refuse rcpts=1".encode()
        for value in VALUES.values()
    ]
    for name, raw in RAW_BYTES.items():
        log.append(
            f"{stamp} H=(pc) [10.0.0.5]:5001 rejected DATA: helpdesk limit: {name} A=".encode()
            + raw.replace(b" ", b"_")
            + b" action=defer rcpts=1"
        )
    (tmp_path / "mainlog").write_bytes(b"\n".join(log) + b"\n")
    db = Database(f"sqlite:///{tmp_path / 'mc.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        for value in DB_VALUES.values():
            record(
                conn,
                operator=Operator(value[:128]),
                action="suspend",
                target=value,
                ticket=value[:64],
                reason=f"helpdesk watch: {value}",
                before={"smtp_enabled": True},
                after={"smtp_enabled": False, "evidence": [{"kind": value, "line": value}]},
            )
    db.dispose()
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mc.sqlite"}"\n\n'
        f'[sendlog]\npaths = ["{tmp_path / "mainlog"}"]\n'
    )
    app = WatchedApp(load_config(config))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(SendLogScreen())
        await settle(app, pilot, 0.2)
        text = await look(app, pilot, "send log, outbound line")
        assert "over limit" in text and "stopped" in text
        await pilot.press("v")
        await look(app, pilot, "outbound view")
        assert isinstance(app.screen, OutboundScreen)
        for table_id in ("#outbound-over", "#outbound-actions"):
            table = app.screen.query_one(table_id, DataTable)
            assert table.row_count >= len(DB_VALUES)
            table.focus()
            for row in range(table.row_count):
                table.move_cursor(row=row)
                await pilot.pause()
                check(app, f"{table_id} row {row}")
        await pilot.press("enter")  # the last watcher action's account: its mailbox screen
        await look(app, pilot, "mailbox from the outbound view")
        await pilot.press("escape")
        await look(app, pilot, "back on the outbound view")
        assert isinstance(app.screen, OutboundScreen)
    assert any("[@click=app.quit]" in seen for seen in app.seen)
