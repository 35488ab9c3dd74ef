"""Times the operator can say: `[ui] timezone` on every screen and in human CLI output, with the
zone named; the database and --json stay UTC; Exim's zone-less log times read as local time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, update
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from helpdesk.config import Config
from helpdesk.errors import ConfigError
from helpdesk.localtime import (
    header,
    log_time_text,
    time_text,
    use_zone,
    zone_from_config,
    zone_name,
)
from helpdesk.mailcenter.audit import current_operator, record
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log, outbound_releases
from helpdesk.rspamd.blocked import BlockedMessage, BlockedReport
from screens.app import HelpdeskApp
from screens.blocked import BlockedList
from screens.blocked_jobs import BlockedLoad
from screens.mailbox import MailboxScreen
from tests.conftest import run_cli
from tests.test_sendlog_tui import open_send_log, seed, write_log

BERLIN = ZoneInfo("Europe/Berlin")
# A winter and a summer time, stored as the database stores them: naive UTC.
WINTER = datetime(2026, 1, 15, 12, 30, 5)  # 13:30 CET
SUMMER = datetime(2026, 7, 15, 12, 30, 5)  # 14:30 CEST
ADDRESS = "k.weber@zeit-test.example"


@pytest.fixture(autouse=True)
def system_zone_after():
    """The zone is process-wide: every test leaves the system's zone behind."""
    yield
    use_zone(None)


@pytest.fixture
def system_tz(monkeypatch):
    """Set the machine's own zone (what Exim's zone-less log times are in) for one test."""

    def set_tz(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_tz
    monkeypatch.undo()
    time.tzset()


def _config(db: Database, zone: str, **extra) -> Config:
    url = db.url.render_as_string(hide_password=False)
    return Config(None, {"database": {"url": url}, "ui": {"timezone": zone}, **extra})


def _config_file(config_file: Path, zone: str) -> Path:
    config_file.write_text(config_file.read_text() + f'\n[ui]\ntimezone = "{zone}"\n')
    return config_file


def _now_name(zone: str) -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).tzname()


# The core functions ---------------------------------------------------------------------------


def test_berlin_winter_and_summer_with_the_zone_named():
    use_zone(BERLIN)
    assert time_text(WINTER, zone=True) == "2026-01-15 13:30 CET"
    assert time_text(SUMMER, "%Y-%m-%d %H:%M:%S", zone=True) == "2026-07-15 14:30:05 CEST"
    # an aware time is converted the same way
    assert time_text(WINTER.replace(tzinfo=UTC)) == "2026-01-15 13:30"
    assert header("When") == f"When ({_now_name('Europe/Berlin')})"


def test_new_york_across_the_dst_change():
    # 2026-03-08 02:00 EST the clocks jump to 03:00 EDT (07:00 UTC).
    use_zone(ZoneInfo("America/New_York"))
    assert time_text(datetime(2026, 3, 8, 6, 59), zone=True) == "2026-03-08 01:59 EST"
    assert time_text(datetime(2026, 3, 8, 7, 0), zone=True) == "2026-03-08 03:00 EDT"
    assert zone_name(datetime(2026, 11, 30, 12, 0)) == "EST"


def test_a_zone_without_letters_is_named_by_its_iana_name_or_offset():
    use_zone(ZoneInfo("Asia/Dubai"))  # abbreviation "+04"
    assert time_text(WINTER, zone=True) == "2026-01-15 16:30 Asia/Dubai"
    use_zone(ZoneInfo("America/Sao_Paulo"))  # "-03", and the name is long for a header
    assert header("When") == "When (UTC-03)"


def test_exim_times_without_a_zone_are_the_machines_local_time(system_tz):
    # Exim on a New York machine writes 07:00 for 12:00 UTC; Berlin calls that 13:00.
    system_tz("America/New_York")
    use_zone(BERLIN)
    assert log_time_text(datetime(2026, 1, 15, 7, 0), zone=True) == "2026-01-15 13:00 CET"
    use_zone(None)  # the system's zone: shown as written
    assert log_time_text(datetime(2026, 1, 15, 7, 0), zone=True) == "2026-01-15 07:00 EST"


def test_no_setting_is_the_systems_zone(system_tz):
    system_tz("America/New_York")
    assert zone_from_config(Config(None, {})) is None
    use_zone(None)
    assert time_text(WINTER, zone=True) == "2026-01-15 07:30 EST"


@pytest.mark.parametrize("bad", ["Europe/Berlln", "../etc/passwd", 5])
def test_an_unknown_zone_is_one_line(bad):
    with pytest.raises(ConfigError) as caught:
        zone_from_config(Config(Path("/etc/helpdesk.toml"), {"ui": {"timezone": bad}}))
    assert "\n" not in str(caught.value) and "[ui] timezone" in str(caught.value)


def test_cli_refuses_an_unknown_zone_in_one_line_and_changes_nothing(db, config_file):
    _config_file(config_file, "Mars/Olympus")
    out = run_cli("audit", config=config_file)
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Mars/Olympus" in out.stderr


# Screens --------------------------------------------------------------------------------------


def _audit_row(db: Database, at: datetime) -> None:
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, realname="Karla Weber")
        record(conn, operator=current_operator(), action="suspend", target=ADDRESS, ticket="T-1")
        conn.execute(update(audit_log).where(audit_log.c.target == ADDRESS).values(at=at))


async def test_mailbox_audit_tab_in_berlin(db):
    _audit_row(db, WINTER)
    app = HelpdeskApp(_config(db, "Europe/Berlin"), db=db)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(MailboxScreen(ADDRESS))
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        table = app.screen.query_one("#mailbox-audit", DataTable)
        assert [str(c.label) for c in table.columns.values()][0] == (
            f"When ({_now_name('Europe/Berlin')})"
        )
        assert str(table.get_row_at(0)[0]) == "2026-01-15 13:30"


class _Blocked(App[None]):
    """The blocked list fed one message of a known time, as rspamd would report it."""

    def compose(self) -> ComposeResult:
        yield _KnownBlocked(id="list")


class _KnownBlocked(BlockedList):
    def load(self) -> None:
        item = BlockedMessage(SUMMER, "k@x.example", False, "m1@x.example", "reject", 20.0, 15.0)
        self.load_done(BlockedLoad(BlockedReport([item], [])))


async def test_blocked_list_in_berlin():
    use_zone(BERLIN)
    app = _Blocked()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.query_one("#blocked-table", DataTable)
        assert str(next(iter(table.columns.values())).label) == (
            f"When ({_now_name('Europe/Berlin')})"
        )
        assert str(table.get_row_at(0)[0]) == "07-15 14:30"


async def test_send_log_activity_in_berlin(tmp_path, system_tz):
    # Exim writes the machine's local time; on a UTC machine Berlin is an hour or two later.
    system_tz("UTC")
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    seed(database)
    now = datetime.now().replace(microsecond=0)
    log = tmp_path / "mainlog"
    write_log(log, now)
    config = _config(database, "Europe/Berlin", sendlog={"paths": [str(log)]})
    app = HelpdeskApp(config, db=database)
    # the taken-over account's burst: 60 messages from 50 minutes ago, 3 s apart
    burst = [now - timedelta(minutes=50) + timedelta(seconds=3 * k) for k in range(60)]
    berlin = [t.replace(tzinfo=UTC).astimezone(BERLIN) for t in burst]
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_send_log(app, pilot)
        table = screen.query_one("#sendlog-detail DataTable", DataTable)
        assert str(next(iter(table.columns.values())).label) == f"When ({berlin[0].tzname()})"
        cells = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert cells and cells <= {f"{t:%m-%d %H:%M}" for t in berlin}
        assert not cells & {f"{t:%m-%d %H:%M}" for t in burst}  # not the UTC the log holds
    database.dispose()


# Human CLI output and --json --------------------------------------------------------------


def _release_row(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(outbound_releases).values(
                address=ADDRESS,
                message_id="m1@zeit-test.example",
                created_at=SUMMER - timedelta(hours=2),
                operator="anna",
                ticket="T-2",
                expires_at=SUMMER,
            )
        )


def test_audit_show_and_releases_in_berlin_and_json_in_utc(db, config_file):
    _audit_row(db, WINTER)
    _release_row(db)
    _config_file(config_file, "Europe/Berlin")

    audit = run_cli("audit", config=config_file)
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout.startswith("2026-01-15 13:30:05 CET ")
    show = run_cli("show", ADDRESS, config=config_file)
    assert f"{'audit':<22} 2026-01-15 13:30 CET " in show.stdout
    releases = run_cli("releases", config=config_file)
    assert "until 2026-07-15 14:30 CEST" in releases.stdout, releases.stdout + releases.stderr

    [entry] = json.loads(run_cli("audit", "--json", config=config_file).stdout)
    assert entry["at"] == "2026-01-15T12:30:05Z"
    shown = json.loads(run_cli("show", ADDRESS, "--json", config=config_file).stdout)
    assert shown["recent_audit"][0]["at"] == "2026-01-15T12:30:05Z"
    assert shown["created_at"].endswith("Z")
    listed = json.loads(run_cli("releases", "--json", config=config_file).stdout)
    assert listed["releases"][0]["expires_at"] == "2026-07-15T12:30:05Z"


def test_no_screen_or_command_formats_a_time_by_itself():
    """Every time a person reads goes through helpdesk.localtime."""
    root = Path(__file__).resolve().parent.parent
    found = []
    for path in [*root.glob("screens/**/*.py"), *root.glob("helpdesk/commands/*.py")]:
        for n, text in enumerate(path.read_text().splitlines(), 1):
            if any(s in text for s in (":%Y-%m-%d", ":%m-%d", ".strftime(", "(UTC)", " UTC")):
                found.append(f"{path.relative_to(root)}:{n}: {text.strip()}")
    assert found == []
