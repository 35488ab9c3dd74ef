"""The send-log review over several mail hosts: two generated logs, one written in Berlin time
without a zone and one in UTC with `log_timezone`-style zones on its lines, merged in one time
order; the same Exim id on both hosts kept apart; `trail HOST:ID` and a bare id found on both;
one-line config errors; the Send log screen over two hosts at 80x24."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk.config import Config
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.logs.files import LogFile
from helpdesk.sendlog.host_files import host_files
from helpdesk.sendlog.hosts import HostClock
from helpdesk.sendlog.offenders import Analysis, analyze
from helpdesk.sendlog.settings import SendlogSettings
from helpdesk.sendlog.trails import trail, user_detail
from tests.conftest import run_cli

BERLIN = ZoneInfo("Europe/Berlin")
# A fixed reader's zone for the naive local times the report gives: UTC.
READER_TZ = {"TZ": "UTC"}
VICTIM = "kontakt@gartenbau.example"
ANNA = "anna@gartenbau.example"
BERND = "bernd@gartenbau.example"
SHARED_ID = "1xHost-000777-Ab"  # on both hosts, two different messages


@pytest.fixture(autouse=True)
def reader_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class HostLog:
    """Mainlog lines of one host, its times written in `zone` (with the offset on each line
    when `stamp_zone`, as Exim's log_timezone does)."""

    def __init__(self, tag: str, zone, stamp_zone: bool) -> None:
        self.tag, self.zone, self.stamp_zone = tag, zone, stamp_zone
        self.lines: list[tuple[datetime, str]] = []
        self.seq = 0

    def add(self, utc: datetime, text: str) -> None:
        local = utc.replace(tzinfo=UTC).astimezone(self.zone)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S")
        if self.stamp_zone:
            stamp += " " + local.strftime("%z")
        self.lines.append((utc, f"{stamp} {text}"))

    def submit(self, utc, user, ip, rcpts, *, eid=None, for_=True, deliver_after=0):
        self.seq += 1
        eid = eid or f"1x{self.tag}-{self.seq:06d}-Zz"
        tail = f" for {' '.join(rcpts)}" if for_ else ""
        self.add(
            utc,
            f"{eid} <= {user} H=(pc) [{ip}]:4711 I=[192.0.2.10]:587 P=esmtpsa "
            f"X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_plain:{user} S=1234 "
            f'id={eid}@gartenbau.example T="Hallo"{tail}',
        )
        later = utc + timedelta(seconds=deliver_after)
        for n, r in enumerate(rcpts):
            arrow = "=>" if n == 0 else "->"
            how = 'R=dnslookup T=remote_smtp H=mx [198.51.100.1] C="250"'
            self.add(later, f"{eid} {arrow} {r} {how}")
        self.add(later, f"{eid} Completed")
        return eid

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = sorted(self.lines, key=lambda x: x[0])
        path.write_text("\n".join(text for _, text in rows) + "\n")
        return path


NOW = datetime(2026, 11, 27, 12, 0, 0)  # naive local of the reader (UTC)


def two_hosts(
    tmp_path: Path, base: datetime = datetime(2026, 11, 27, 10, 0, 0)
) -> tuple[Path, Path]:
    """mx1 writes Berlin time without a zone, mx2 UTC with `+0000` on every line.

    kontakt@ sends 15 messages on each host in the same 5 minutes (10:00 UTC = 11:00 on mx1):
    30 in 5 minutes only if both hosts are on one clock. Its first message is on mx1 (09:40
    UTC), its last on mx1 too (10:30 UTC), with mx2's in between: first and last seen come
    out right only if the lines are read in time order across the hosts."""
    mx1 = HostLog("Mx01", BERLIN, stamp_zone=False)
    mx2 = HostLog("Mx02", UTC, stamp_zone=True)
    mx1.submit(base - timedelta(minutes=20), VICTIM, "192.0.2.201", ["a@web.example"])
    for k in range(15):
        mx1.submit(base + timedelta(seconds=10 * k), VICTIM, "192.0.2.201", [f"m{k}@web.example"])
        mx2.submit(
            base + timedelta(seconds=10 * k + 5), VICTIM, "192.0.2.202", [f"n{k}@gmx.example"]
        )
    mx2.submit(base + timedelta(minutes=15), VICTIM, "192.0.2.202", ["late@gmx.example"])
    mx1.submit(base + timedelta(minutes=30), VICTIM, "192.0.2.201", ["last@web.example"])
    # The same Exim id on both hosts: two messages of two users in flight at once, their
    # recipients known only from the delivery lines (no +received_recipients).
    t = base + timedelta(hours=1)
    mx1.submit(
        t, ANNA, "198.51.100.8", [f"a{j}@web.example" for j in range(3)],
        eid=SHARED_ID, for_=False, deliver_after=4,
    )  # fmt: skip
    mx2.submit(
        t + timedelta(seconds=1), BERND, "198.51.100.9", ["b0@gmx.example", "b1@gmx.example"],
        eid=SHARED_ID, for_=False, deliver_after=4,
    )  # fmt: skip
    # Failed logins on mx2 for anna, who sends on mx1 only: they count all the same.
    for k in range(2):
        mx2.add(
            t + timedelta(minutes=10 + k),
            "dovecot_plain authenticator failed for (User) [203.0.113.3]:5555 "
            f"I=[192.0.2.10]:587: 535 Incorrect authentication data (set_id={ANNA})",
        )
    return (
        mx1.write(tmp_path / "logs" / "mx1" / "mainlog"),
        mx2.write(tmp_path / "logs" / "mx2" / "mainlog"),
    )


def hosts_table(tmp_path: Path, mx2_zone: str = "America/New_York") -> dict:
    # mx2's configured zone is wrong on purpose: its lines carry their own, which wins.
    mx1 = {"name": "mx1", "paths": [str(tmp_path / "logs/mx1/mainlog*")]}
    mx2 = {"name": "mx2", "paths": [str(tmp_path / "logs/mx2/mainlog*")]}
    return {"hosts": [{**mx1, "timezone": "Europe/Berlin"}, {**mx2, "timezone": mx2_zone}]}


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "helpdesk.toml"
    path.write_text(
        "[sendlog]\n"
        "[[sendlog.hosts]]\n"
        'name = "mx1"\npaths = ["logs/mx1/mainlog*"]\ntimezone = "Europe/Berlin"\n'
        "[[sendlog.hosts]]\n"
        'name = "mx2"\npaths = ["logs/mx2/mainlog*"]\n'
    )
    return path


def test_two_hosts_merge_in_time_order_and_the_ranking_counts_both(tmp_path):
    two_hosts(tmp_path)
    settings = SendlogSettings.from_dict(hosts_table(tmp_path))
    files = host_files(settings)
    assert [(f.host, f.zone) for f in files] == [
        ("mx1", "Europe/Berlin"),
        ("mx2", "America/New_York"),
    ]
    report = analyze(files, settings, now=NOW)
    victim = report.user(VICTIM).as_dict()
    assert victim["hosts"] == ["mx1", "mx2"]
    assert victim["messages"] == 33
    assert victim["peak_5min"] == 30  # 15 from each host in the same 5 minutes
    assert victim["peak_5min_start"] == "2026-11-27T10:00:00Z"
    assert victim["first_seen"] == "2026-11-27T09:40:00Z"
    assert victim["last_seen"] == "2026-11-27T10:30:00Z"
    assert victim["client_ips"] == ["192.0.2.201", "192.0.2.202"]
    logs = (tmp_path / "logs").rglob("mainlog")
    assert report.lines == sum(len(p.read_text().splitlines()) for p in logs)
    assert report.unreadable == 0


def test_the_same_exim_id_on_two_hosts_is_two_messages(tmp_path):
    two_hosts(tmp_path)
    settings = SendlogSettings.from_dict(hosts_table(tmp_path))
    report = analyze(host_files(settings), settings, now=NOW)
    anna, bernd = report.user(ANNA), report.user(BERND)
    assert (anna.recipients, sorted(anna.domain_counts)) == (3, ["web.example"])
    assert (bernd.recipients, sorted(bernd.domain_counts)) == (2, ["gmx.example"])
    assert (anna.as_dict()["hosts"], bernd.as_dict()["hosts"]) == (["mx1"], ["mx2"])
    assert (anna.auth_failures, dict(anna.auth_failure_ips)) == (2, {"203.0.113.3": 2})


def test_one_host_unlabelled_reads_as_before(tmp_path):
    mx1, _mx2 = two_hosts(tmp_path)
    settings = SendlogSettings.from_dict({"paths": [str(mx1)]})
    files = host_files(settings)
    assert [f.host for f in files] == [None]
    victim = analyze(files, settings, now=NOW).user(VICTIM).as_dict()
    # Berlin time read as the reader's own (UTC): an hour late, as without hosts
    assert victim["first_seen"] == "2026-11-27T10:40:00Z" and victim["hosts"] == []
    # the same file with its zone named: the times come right
    zoned = SendlogSettings.from_dict({"paths": [str(mx1)], "timezone": "Europe/Berlin"})
    victim = analyze(host_files(zoned), zoned, now=NOW).user(VICTIM).as_dict()
    assert victim["first_seen"] == "2026-11-27T09:40:00Z" and len(victim["hosts"]) == 1


def test_trail_by_host_and_a_bare_id_on_both(tmp_path):
    two_hosts(tmp_path)
    settings = SendlogSettings.from_dict(hosts_table(tmp_path))
    files = host_files(settings)
    both = trail(files, SHARED_ID)
    assert [t.host for t in both] == ["mx1"] * 5 + ["mx2"] * 4
    assert f"<= {ANNA}" in both[0].text and f"<= {BERND}" in both[5].text
    # times on the reader's clock: 11:00 Berlin is 10:00 UTC
    assert both[0].time == datetime(2026, 11, 27, 11, 0, 0)
    assert both[5].time == datetime(2026, 11, 27, 11, 0, 1)
    only = trail(files, f"mx2:{SHARED_ID}")
    assert [t.host for t in only] == ["mx2"] * 4
    assert [t.as_dict()["text"] for t in only] == [t.text for t in both[5:]]
    with pytest.raises(HelpdeskError, match="no host mx3: the hosts are mx1, mx2"):
        trail(files, f"mx3:{SHARED_ID}")


def test_trail_and_offenders_through_the_cli(tmp_path):
    two_hosts(tmp_path)
    config = config_file(tmp_path)
    env = {**READER_TZ, "HELPDESK_UI_LANGUAGE": "en", "LANGUAGE": "en"}
    bare = run_cli("trail", SHARED_ID, config=config, env=env)
    assert bare.returncode == 0, bare.stderr
    lines = bare.stdout.splitlines()
    assert lines[0].startswith("== mx1 ") and lines[0].endswith("logs/mx1/mainlog")
    assert [line.split()[0] for line in lines if not line.startswith("==")] == ["mx1"] * 5 + [
        "mx2"
    ] * 4
    arrival = f"mx2 2026-11-27 11:00:01 +0000 {SHARED_ID} <= {BERND} "
    assert any(line.startswith(arrival) for line in lines)

    one = run_cli("trail", f"mx1:{SHARED_ID}", "--json", config=config, env=env)
    assert one.returncode == 0, one.stderr
    rows = json.loads(one.stdout)
    assert {r["host"] for r in rows} == {"mx1"} and len(rows) == 5
    assert rows[0]["time"] == "2026-11-27T11:00:00Z"

    wrong = run_cli("trail", f"mx9:{SHARED_ID}", config=config, env=env)
    assert wrong.returncode != 0
    assert wrong.stderr.strip().splitlines() == ["helpdesk: no host mx9: the hosts are mx1, mx2"]

    ranked = run_cli("offenders", "--since", "400d", "--json", config=config, env=env)
    assert ranked.returncode == 0, ranked.stderr
    victim = next(u for u in json.loads(ranked.stdout) if u["user"] == VICTIM)
    assert (victim["peak_5min"], victim["hosts"]) == (30, ["mx1", "mx2"])
    text = run_cli("offenders", "--since", "400d", config=config, env=env)
    assert text.returncode == 0, text.stderr
    assert "         on mx1, mx2" in text.stdout.splitlines()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"hosts": [{"name": "mx1", "paths": ["/x"], "timezone": "Mars/Olympus"}]},
            "[sendlog]: host mx1: timezone: 'Mars/Olympus' is not a known zone "
            "(an IANA name such as Europe/Berlin)",
        ),
        (
            {"hosts": [{"name": "mx1", "paths": ["/x"]}, {"name": "MX1", "paths": ["/y"]}]},
            "[sendlog]: host MX1 is named twice",
        ),
        (
            {"hosts": [{"name": "mx 1:a", "paths": ["/x"]}]},
            "[sendlog]: hosts #1: name 'mx 1:a' must be 1 to 63 letters, digits, dots, "
            "dashes or underscores, starting with a letter or digit",
        ),
        (
            {"hosts": [{"name": "mx1"}]},
            "[sendlog]: host mx1: paths must name at least one file or glob",
        ),
        (
            {"hosts": [{"name": "mx1", "paths": ["/x"], "zone": "UTC"}]},
            "[sendlog]: hosts #1: unknown key 'zone'",
        ),
        (
            {"paths": ["/x"], "hosts": [{"name": "mx1", "paths": ["/x"]}]},
            "[sendlog]: give either paths or [[sendlog.hosts]], not both",
        ),
        (
            {"hosts": {"name": "mx1"}},
            "[sendlog]: hosts must be tables [[sendlog.hosts]] with name, paths and "
            "optionally timezone",
        ),
        (
            {"timezone": "Europe/Berlni"},
            "[sendlog]: timezone: 'Europe/Berlni' is not a known zone (an IANA name such as "
            "Europe/Berlin)",
        ),
    ],
)
def test_config_errors_are_one_line(table, message):
    with pytest.raises(ConfigError) as err:
        SendlogSettings.from_dict(table)
    assert str(err.value) == message


def test_config_errors_reach_the_cli_as_one_line(tmp_path):
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        '[sendlog]\n[[sendlog.hosts]]\nname = "mx1"\npaths = ["/x"]\ntimezone = "Nowhere/City"\n'
    )
    result = run_cli("offenders", config=config, env={"LANGUAGE": "en"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"helpdesk: {config}: [sendlog]: host mx1: timezone: 'Nowhere/City' is not a known zone "
        "(an IANA name such as Europe/Berlin)"
    ]


def test_relative_host_paths_follow_the_config_file(tmp_path):
    settings = SendlogSettings.from_config(
        Config(tmp_path / "h.toml", {"sendlog": hosts_table(Path("rel"))})
    )
    assert settings.hosts[0].paths == (str(tmp_path / "rel/logs/mx1/mainlog*"),)
    # the other readers of the log (blocked list, spam preview) see every host's paths
    assert settings.paths == (
        str(tmp_path / "rel/logs/mx1/mainlog*"),
        str(tmp_path / "rel/logs/mx2/mainlog*"),
    )


def test_a_line_with_its_own_zone_wins_over_the_hosts(tmp_path):
    clock = HostClock("Europe/Berlin")
    plain = clock.convert(b"2026-07-01 12:00:05 1xAbCd-000001-Zz Completed")
    zoned = clock.convert(b"2026-07-01 12:00:05 -0300 1xAbCd-000001-Zz Completed")
    syslog = clock.convert(
        b"Jul  1 12:00:05 mx1 exim[42]: 2026-07-01 12:00:05 1xAbCd-000001-Zz Completed"
    )
    assert plain == (b"2026-07-01 10:00:05", b"2026-07-01 10:00:05 1xAbCd-000001-Zz Completed")
    assert zoned == (b"2026-07-01 15:00:05", b"2026-07-01 15:00:05 1xAbCd-000001-Zz Completed")
    assert syslog == plain
    assert clock.convert(b"2026-02-30 12:00:05 1xAbCd-000001-Zz Completed") is None
    assert clock.convert(b"no time here") is None


def test_user_detail_over_two_hosts(tmp_path):
    two_hosts(tmp_path)
    settings = SendlogSettings.from_dict(hosts_table(tmp_path))
    files: list[LogFile] = host_files(settings)
    detail = user_detail(files, ANNA, start=NOW - timedelta(hours=24), end=NOW)
    assert [(m.host, m.exim_id, len(m.recipients)) for m in detail.messages] == [
        ("mx1", SHARED_ID, 3)
    ]
    assert detail.messages[0].time == datetime(2026, 11, 27, 11, 0, 0)
    assert {r.fate for r in detail.messages[0].recipients.values()} == {"delivered"}


def test_new_lines_of_the_followed_host_count_on_its_clock(tmp_path):
    two_hosts(tmp_path)
    settings = SendlogSettings.from_dict(hosts_table(tmp_path, mx2_zone="UTC"))
    files = host_files(settings)
    analysis = Analysis(settings, now=NOW)
    analysis.read(files)
    # the follow mode watches the last file: mx2's, whose new lines are in UTC
    assert files[-1].host == "mx2"
    mx2 = HostLog("Mx02", UTC, stamp_zone=False)
    mx2.seq = 500
    mx2.submit(datetime(2026, 11, 27, 11, 30), ANNA, "198.51.100.8", ["x@web.example"])
    analysis.feed("\n".join(text for _, text in mx2.lines).encode())
    anna = analysis.report().user(ANNA).as_dict()
    assert (anna["messages"], anna["hosts"]) == (2, ["mx1", "mx2"])
    assert anna["last_seen"] == "2026-11-27T11:30:00Z"


def test_the_followed_hosts_new_messages_are_listed_on_the_rankings_clock(tmp_path):
    """F6's follow mode lists the selected account's new messages from the same lines the
    ranking converted: a host writing Tokyo time shows 11:30 UTC, not 20:30."""
    from helpdesk.sendlog.host_merge import follow_lines
    from helpdesk.sendlog.parser import iter_events
    from helpdesk.sendlog.trails import user_messages

    two_hosts(tmp_path)
    settings = SendlogSettings.from_dict(hosts_table(tmp_path, mx2_zone="Asia/Tokyo"))
    analysis = Analysis(settings, now=NOW)
    analysis.read(host_files(settings))
    tokyo = HostLog("Mx02", ZoneInfo("Asia/Tokyo"), stamp_zone=False)
    tokyo.seq = 600
    tokyo.submit(datetime(2026, 11, 27, 11, 30), ANNA, "198.51.100.8", ["y@web.example"])
    data = "\n".join(text for _, text in tokyo.lines).encode()
    found = user_messages(iter_events(follow_lines(analysis, data)), ANNA)
    assert [m.time for m in found] == [datetime(2026, 11, 27, 11, 30)]
    # one unlabelled log: the lines as they are
    plain = Analysis(SendlogSettings(), now=NOW)
    assert follow_lines(plain, b"a\nb") == [b"a", b"b"]


async def test_send_log_screen_ranks_two_hosts_at_80x24(tmp_path):
    from textual.widgets import DataTable

    from helpdesk.mailcenter.db import Database
    from screens.app import HelpdeskApp
    from screens.sendlog import SendLogScreen
    from tests.test_sendlog_tui import open_send_log, text_of, users_in

    now = datetime.now().replace(microsecond=0)
    two_hosts(tmp_path, base=now - timedelta(hours=2))
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    url = db.url.render_as_string(hide_password=False)
    config = Config(None, {"database": {"url": url}, "sendlog": hosts_table(tmp_path)})
    try:
        app = HelpdeskApp(config, db=db)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_send_log(app, pilot)
            assert isinstance(screen, SendLogScreen)
            assert users_in(screen) == [VICTIM]
            assert "30 messages in 5 minutes" in text_of(screen, "#activity-summary")
            table = screen.query_one("#sendlog-offenders", DataTable)
            assert "Hosts" not in [str(c.label) for c in table.columns.values()]
            assert table.size.width <= 80
        app = HelpdeskApp(config, db=db)
        async with app.run_test(size=(130, 30)) as pilot:
            screen = await open_send_log(app, pilot)
            table = screen.query_one("#sendlog-offenders", DataTable)
            labels = [str(c.label).strip() for c in table.columns.values()]
            cells = [str(c).strip() for c in table.get_row_at(0)]
            assert cells[labels.index("Hosts")] == "mx1, mx2"
    finally:
        db.dispose()


def test_hostile_log_lines_over_two_hosts_stay_text(tmp_path, capsys):
    """The hostile mainlog (tests/hostile.py values in subjects, users, senders) as the log of
    two hosts: the trail lines with their host and the ranking stay terminal-safe."""
    from helpdesk.cli import main
    from tests.hostile import assert_clean, assert_markup_shown
    from tests.test_hostile_cli import _mainlog

    for host in ("mx1", "mx2"):
        (tmp_path / "logs" / host).mkdir(parents=True)
        _mainlog(tmp_path / "logs" / host / "mainlog")
    config = config_file(tmp_path)
    for args in (["trail", "1hO005-000005-Ab"], ["trail", "raw@evil.example"], ["offenders"]):
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert_clean(out, where=" ".join(args))
        assert_clean(err, where=" ".join(args) + " stderr")
        assert_markup_shown(out, where=" ".join(args))
    code = main(["--config", str(config), "trail", "1hO005-000005-Ab"])
    out, _err = capsys.readouterr()
    assert {line.split()[0] for line in out.splitlines() if not line.startswith("==")} == {
        "mx1",
        "mx2",
    }
