"""Slow, hanging, huge and broken rspamd controllers: every call ends at its deadline.

Each fault comes from a small local server (tests/fault_server.py): trickling bytes, hanging
after the headers, a 200 MB reply, bytes that are not HTTP, a 500. Every command that talks
to rspamd ends within a generous bound of its configured deadline with one line, closes the
connection, and stays in bounded memory; a release that a controller leaves uncertain ends
confirmed or withdrawn, and `suspend` works on the same database while a release is stuck.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from helpdesk.cli import main
from helpdesk.mailcenter.audit import Operator, utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log, mailboxes, outbound_releases
from helpdesk.rspamd.client import (
    Cluster,
    Controller,
    ControllerSettings,
    RspamdError,
    RspamdSettings,
)
from helpdesk.rspamd.releases import ReleaseService, ReleaseWithdrawn
from tests.conftest import ROOT, run_cli
from tests.fault_server import FaultServer, fault_server

TIMEOUT = 1.0
# "Ends within its deadline", generously: three deadlines and the start-up of a command.
BOUND = 3 * TIMEOUT + 1.5


def _d(message_id: str) -> str:
    """A stand-in content digest (32 hex digits, as rspamd's) for a made-up message."""
    return hashlib.md5(message_id.encode()).hexdigest()


OPERATOR = Operator("anna")

EXPECTED = {
    "trickle": "did not answer {path} within 1 s",
    "trickle-head": "did not answer {path} within 1 s",
    "hang": "did not answer {path} within 1 s",
    "silent": "did not answer {path} within 1 s",
    "huge": "sent more than 8 MiB for {path}",
    "garbage": "failed on {path}",
    "junk": "not JSON",
    "500": "failed on {path} with HTTP 500",
}


@pytest.fixture
def server():
    with fault_server() as s:
        yield s


def _controller(server: FaultServer, **kwargs) -> Controller:
    settings = ControllerSettings("mx9", server.url, "read-secret", "enable-secret")
    return Controller(settings, TIMEOUT, max_reply_mb=8, **kwargs)


# --------------------------------------------------------------------------- one call


def _client_threads() -> set[threading.Thread]:
    """Threads other than the fault server's own handlers."""
    return {t for t in threading.enumerate() if "process_request" not in t.name}


@pytest.mark.parametrize("rule", list(EXPECTED))
def test_every_fault_ends_one_call_at_its_deadline_with_one_line(server, rule):
    server.rules["/history"] = rule
    threads_before = _client_threads()
    started = time.monotonic()
    with _controller(server) as c, pytest.raises(RspamdError) as info:
        c.history()
    took = time.monotonic() - started
    message = str(info.value)
    assert took < BOUND, f"{rule}: {took:.1f} s"
    assert EXPECTED[rule].format(path="/history") in message
    assert message.startswith("rspamd controller mx9 (") and "\n" not in message
    assert "secret" not in message
    if rule in ("trickle", "trickle-head", "hang", "silent"):
        # The connection is closed when the call reports failure: the server sees it go.
        assert server.client_gone.wait(3), "the helpdesk still holds the socket"
    # Everything ran in the calling thread: nothing of the call is left running.
    assert _client_threads() <= threads_before


def test_a_read_that_stalled_is_not_repeated_within_one_command(server):
    server.default_rule = "hang"
    started = time.monotonic()
    with Cluster(_settings(server)) as cluster:
        (status,) = cluster.status()
        with pytest.raises(RspamdError, match="did not answer /stat"):
            cluster.history()
    assert not status.ok and "did not answer /stat within 1 s" in status.error
    # /stat waited out its deadline; /actions and /history were not tried again.
    assert time.monotonic() - started < 2 * TIMEOUT + 1
    assert server.seen == ["/stat"]


def test_the_size_cap_and_deadline_come_from_the_config(tmp_path):
    from helpdesk.config import Config
    from helpdesk.errors import ConfigError

    def settings(**values):
        return RspamdSettings.from_config(Config(tmp_path / "h.toml", {"rspamd": values}))

    chosen = settings(timeout=2.5, max_reply_mb=16)
    assert chosen.timeout == 2.5 and chosen.max_reply_mb == 16
    assert settings().max_reply_mb == 64
    for bad in ({"max_reply_mb": 0}, {"max_reply_mb": "lots"}, {"timeout": 0}):
        with pytest.raises(ConfigError) as info:
            settings(**bad)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11x34",
        "http://127.0.0.1:99999",
        "http://user:pw-in-url@127.0.0.1:port/",
        "http://[::1",
        "http://",
        "ftp://127.0.0.1:11334",
    ],
)
def test_a_bad_controller_url_is_one_config_line(tmp_path, url):
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/m.sqlite"\n'
        f'[rspamd]\ncontrollers = [{{ name = "mx1", url = "{url}" }}]\n'
    )
    config.chmod(0o600)
    out = run_cli("rspamd", "status", config=config)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "controller mx1" in out.stderr and "pw-in-url" not in out.stderr


# --------------------------------------------------------------------------- every command


def _settings(server: FaultServer, *more: FaultServer) -> RspamdSettings:
    controllers = tuple(
        ControllerSettings(f"mx{i}", s.url, "read-secret", "enable-secret")
        for i, s in enumerate((server, *more), 1)
    )
    return RspamdSettings(controllers=controllers, timeout=TIMEOUT, max_reply_mb=8)


def _config(tmp_path: Path, db_url: str, *servers: FaultServer) -> Path:
    entries = ", ".join(
        f'{{ name = "mx{i}", url = "{s.url}", password = "read-secret", '
        'enable_password = "enable-secret" }'
        for i, s in enumerate(servers, 1)
    )
    path = tmp_path / "helpdesk.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n'
        f"[rspamd]\ncontrollers = [{entries}]\ntimeout = {TIMEOUT}\nmax_reply_mb = 8\n"
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def sqlite_db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    with database.begin() as conn:
        create_mailbox(conn, "kunde@firma.de", realname="Test Kunde")
        conn.execute(insert(outbound_releases).values(**_confirmed_row("kunde@firma.de")))
    yield database
    database.dispose()


def _confirmed_row(address: str, message_id: str = "old-1@firma.de") -> dict:
    now = utcnow()
    return {
        "address": address,
        "message_id": message_id,
        "digest": _d(message_id),
        "created_at": now,
        "operator": "anna",
        "ticket": "T-0",
        "expires_at": now + timedelta(hours=1),
        "state": "confirmed",
    }


def _in_process(config: Path, *args: str) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["--config", str(config), *args])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started


COMMANDS = {
    "rspamd status": ["rspamd", "status"],
    "blocked": ["blocked", "--log", "{tmp}/mainlog"],
    "release": [
        "release",
        "<new-1@firma.de>",
        "--user",
        "kunde@firma.de",
        "--digest",
        _d("new-1@firma.de"),
        "--ticket",
        "T-1",
    ],
    "releases --sync": ["releases", "--sync"],
    "revoke": ["revoke", "1", "--ticket", "T-2"],
}


def _args(command: str, tmp_path: Path) -> list[str]:
    (tmp_path / "mainlog").touch()
    return [arg.format(tmp=tmp_path) for arg in COMMANDS[command]]


@pytest.mark.parametrize("rule", ["trickle", "hang", "huge", "garbage", "500"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_ends_within_its_deadline_with_one_line(
    server, sqlite_db, tmp_path, command, rule
):
    config = _config(tmp_path, str(sqlite_db.url), server)
    server.default_rule = rule
    code, out, err, took = _in_process(config, *_args(command, tmp_path))
    assert took < BOUND, f"{command} against {rule}: {took:.1f} s"
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "mx1" in lines[0] and "Traceback" not in err
    if command != "blocked":  # with a log to read, a dead controller is a warning
        assert code != 0
    if command == "release":
        # Refused before anything was written: /maps already failed.
        with sqlite_db.connect() as conn:
            rows = conn.execute(select(outbound_releases.c.state)).scalars().all()
        assert rows == ["confirmed"] and "nothing changed" in lines[0]


def test_each_command_in_its_own_process_against_a_trickling_controller(
    server, sqlite_db, tmp_path
):
    config = _config(tmp_path, str(sqlite_db.url), server)
    server.default_rule = "trickle"
    for command in COMMANDS:
        started = time.monotonic()
        out = run_cli(*_args(command, tmp_path), config=config)
        took = time.monotonic() - started
        assert took < BOUND + 3, f"{command}: {took:.1f} s"  # plus the interpreter's start
        assert out.stderr.count("\n") == 1 and "did not answer" in out.stderr, out.stderr


# --------------------------------------------------------------------------- memory


_MEASURE = """
import json, resource, sys
from helpdesk.cli import main
import helpdesk.commands.rspamd_status, helpdesk.commands.blocked, helpdesk.rspamd.client  # noqa
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "grew_kib": after - before}))
"""


@pytest.mark.parametrize("command", ["rspamd status", "blocked"])
def test_a_200_mb_reply_is_cut_at_the_cap_in_bounded_memory(server, sqlite_db, tmp_path, command):
    config = _config(tmp_path, str(sqlite_db.url), server)
    server.default_rule = "huge"
    args = ["rspamd", "status"] if command == "rspamd status" else ["blocked"]
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["code"] == 1
    assert "sent more than 8 MiB" in out.stderr and out.stderr.count("\n") == 1
    # The reply is 200 MB; the process grew by about the cap, not by the reply.
    assert result["grew_kib"] < 48 * 1024, result


# --------------------------------------------------------------------------- releases


def _release_db(db: Database) -> None:
    with db.begin() as conn:
        create_mailbox(conn, "kunde@firma.de", realname="Test Kunde")


def _states(db: Database) -> dict[str, str]:
    with db.connect() as conn:
        rows = conn.execute(select(outbound_releases.c.message_id, outbound_releases.c.state))
        return {r.message_id: r.state for r in rows}


def _actions(db: Database) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def test_a_save_that_is_never_applied_is_withdrawn_everywhere(db, server):
    """mx1 takes the map; mx2 swallows /savemap and hangs: the release comes off mx1 again."""
    _release_db(db)
    with fault_server() as second:
        second.rules["/savemap"] = "drop"
        started = time.monotonic()
        with Cluster(_settings(server, second)) as cluster, pytest.raises(ReleaseWithdrawn) as info:
            ReleaseService(db, cluster).release(
                "stuck-1@firma.de",
                "kunde@firma.de",
                digest=_d("stuck-1@firma.de"),
                ticket="T-1",
                operator=OPERATOR,
            )
        assert time.monotonic() - started < BOUND
        assert "stuck-1@firma.de" not in server.map_text.casefold()
        assert "stuck-1@firma.de" not in second.map_text.casefold()
    message = str(info.value)
    assert "mx2" in message and "did not answer /savemap within 1 s" in message
    assert "withdrawn from every controller" in message and "\n" not in message
    assert _states(db) == {"stuck-1@firma.de": "withdrawn"}
    assert _actions(db) == ["release-pending", "release-withdrawn"]
    with db.connect() as conn:
        reason = conn.execute(
            select(audit_log.c.reason).where(audit_log.c.action == "release-withdrawn")
        ).scalar_one()
    assert "did not answer /savemap" in reason


def test_on_a_german_desk_the_error_reads_german_and_the_audit_row_english(db, server):
    """A controller's error is kept as a message id up to where it is shown: the operator reads
    it in the UI language, the audit row (read by anyone later) keeps the English."""
    from helpdesk.i18n import set_language

    _release_db(db)
    set_language("de")
    try:
        with fault_server() as second:
            second.rules["/savemap"] = "drop"
            cluster = Cluster(_settings(server, second))
            with cluster, pytest.raises(ReleaseWithdrawn) as info:
                ReleaseService(db, cluster).release(
                    "stuck-de@firma.de",
                    "kunde@firma.de",
                    digest=_d("stuck-de@firma.de"),
                    ticket="T-1",
                    operator=OPERATOR,
                )
        shown = str(info.value)
    finally:
        set_language("en")
    english = info.value.english()
    assert "mx2" in shown and shown != english and "did not answer" not in shown
    assert "did not answer /savemap within 1 s" in english
    with db.connect() as conn:
        reason = conn.execute(
            select(audit_log.c.reason).where(audit_log.c.action == "release-withdrawn")
        ).scalar_one()
    assert "did not answer /savemap within 1 s" in reason


def test_a_late_answer_whose_save_took_effect_is_confirmed(db, server):
    _release_db(db)
    server.rules["/savemap"] = "late"
    server.late_seconds = 3 * TIMEOUT
    with Cluster(_settings(server)) as cluster:
        release = ReleaseService(db, cluster).release(
            "late-1@firma.de",
            "kunde@firma.de",
            digest=_d("late-1@firma.de"),
            ticket="T-1",
            operator=OPERATOR,
        )
    assert release.state() == "active"
    assert f"kunde@firma.de|{_d('late-1@firma.de')}" in server.map_text
    assert _actions(db) == ["release-pending", "release-outbound"]


def test_a_withdrawal_that_fails_too_is_finished_by_sync(db, server):
    """The save lands late and then the controller stops answering: the row stays pending,
    the operator is told so, and `releases --sync` withdraws it once the controller is back."""
    _release_db(db)
    server.rules["/savemap"] = "late"
    server.after_save = {"/getmap": "hang", "/savemap": "hang"}
    with Cluster(_settings(server)) as cluster, pytest.raises(RspamdError) as info:
        ReleaseService(db, cluster).release(
            "limbo-1@firma.de",
            "kunde@firma.de",
            digest=_d("limbo-1@firma.de"),
            ticket="T-1",
            operator=OPERATOR,
        )
    message = str(info.value)
    assert "stays pending" in message and "releases --sync" in message and "\n" not in message
    assert _states(db) == {"limbo-1@firma.de": "pending"}
    assert _d("limbo-1@firma.de") in server.map_text  # live there, and the row says pending
    server.rules = {}
    with Cluster(_settings(server)) as cluster:
        outcome = ReleaseService(db, cluster).sync(OPERATOR)
    assert [r.message_id for r in outcome.withdrawn] == ["limbo-1@firma.de"]
    assert not outcome.errors and not outcome.pending
    assert _d("limbo-1@firma.de") not in server.map_text
    assert _states(db) == {"limbo-1@firma.de": "withdrawn"}
    assert _actions(db)[-1] == "release-withdrawn"


def test_suspend_works_while_a_release_is_stuck_on_a_hanging_controller(db, server, tmp_path):
    _release_db(db)
    server.rules["/savemap"] = "drop"
    url = db.url.render_as_string(hide_password=False)
    config = _config(tmp_path, url, server)
    config.write_text(config.read_text().replace("timeout = 1.0", "timeout = 4.0"))
    release = subprocess.Popen(
        [str(Path(sys.executable).parent / "helpdesk"), "--config", str(config), "release",
         "stuck-2@firma.de", "--user", "kunde@firma.de", "--digest", _d("stuck-2@firma.de"),
         "--ticket", "T-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert server.arrived["/savemap"].wait(15), "the release never reached /savemap"
        suspended = run_cli("suspend", "kunde@firma.de", "--ticket", "T-9", config=config)
        still_stuck = release.poll() is None
    finally:
        _, err = release.communicate(timeout=30)
    assert suspended.returncode == 0, suspended.stderr
    assert still_stuck, "the release ended before suspend ran: the test proved nothing"
    assert release.returncode == 1 and "withdrawn from every controller" in err, err
    with db.connect() as conn:
        enabled = conn.execute(
            select(mailboxes.c.smtp_enabled).where(mailboxes.c.address == "kunde@firma.de")
        ).scalar_one()
    assert not enabled
    assert _states(db) == {"stuck-2@firma.de": "withdrawn"}


def test_two_releases_in_two_processes_both_land(db, server, tmp_path):
    _release_db(db)
    with db.begin() as conn:
        create_mailbox(conn, "zweite@firma.de", realname="Zweite Kundin")
    config = _config(tmp_path, db.url.render_as_string(hide_password=False), server)
    helpdesk = str(Path(sys.executable).parent / "helpdesk")
    jobs = [("kunde@firma.de", "two-1@firma.de"), ("zweite@firma.de", "two-2@firma.de")]
    procs = [
        subprocess.Popen(
            [
                helpdesk,
                "--config",
                str(config),
                "release",
                mid,
                "--user",
                user,
                "--digest",
                _d(mid),
                "--ticket",
                "T-1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for user, mid in jobs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert {f"{u}|{_d(m)}" for u, m in jobs} <= set(server.map_text.splitlines())
    assert _states(db) == {"two-1@firma.de": "confirmed", "two-2@firma.de": "confirmed"}
    generations = [line for line in server.map_text.splitlines() if "generation" in line]
    assert generations == ["# generation 2"]


def test_a_revocation_that_does_not_reach_a_controller_is_said_and_finished_by_sync(db, server):
    _release_db(db)
    with Cluster(_settings(server)) as cluster:
        release = ReleaseService(db, cluster).release(
            "rev-1@firma.de",
            "kunde@firma.de",
            digest=_d("rev-1@firma.de"),
            ticket="T-1",
            operator=OPERATOR,
        )
    server.rules["/savemap"] = "500"
    with Cluster(_settings(server)) as cluster, pytest.raises(RspamdError) as info:
        ReleaseService(db, cluster).revoke(release.id, ticket="T-2", operator=OPERATOR)
    message = str(info.value)
    assert f"release #{release.id} is revoked in the database" in message
    assert "HTTP 500" in message and "releases --sync" in message and "\n" not in message
    assert f"kunde@firma.de|{_d('rev-1@firma.de')}" in server.map_text  # still let through there
    server.rules = {}
    with Cluster(_settings(server)) as cluster:
        outcome = ReleaseService(db, cluster).sync(OPERATOR)
    assert not outcome.errors and outcome.lines == 0
    assert "rev-1@firma.de" not in server.map_text
    with db.connect() as conn:
        (row,) = conn.execute(select(outbound_releases)).all()
    assert row.revoked_at is not None and row.state == "confirmed"


def test_a_release_waits_for_the_push_lock_a_bounded_time_and_changes_nothing(db, server):
    """Another command holds the push lock (it blocks no table): the release gives up with one
    line and writes nothing, while other writes to the database go on."""
    from helpdesk.rspamd.release_map import LockBusy, push_lock

    _release_db(db)
    settings = RspamdSettings(controllers=_settings(server).controllers, timeout=0.2)
    with push_lock(db, 5):
        with db.begin() as conn:  # the lock blocks no write
            create_mailbox(conn, "dritte@firma.de", realname="Dritte")
        started = time.monotonic()
        with Cluster(settings) as cluster, pytest.raises(LockBusy) as info:
            ReleaseService(db, cluster).release(
                "wait-1@firma.de",
                "kunde@firma.de",
                digest=_d("wait-1@firma.de"),
                ticket="T-1",
                operator=OPERATOR,
            )
        took = time.monotonic() - started
    assert "still saving the release map" in str(info.value)
    assert "nothing changed" in str(info.value) and "\n" not in str(info.value)
    assert 0.2 * 7 + 2 <= took < 0.2 * 7 + 2 + 3
    assert _states(db) == {} and _actions(db) == []
    assert server.seen == ["/maps"]


@pytest.mark.parametrize("path", ["/getmap", "/savemap"])
@pytest.mark.parametrize("rule", ["trickle", "hang", "huge", "garbage", "500", "drop", "late"])
def test_a_release_ends_confirmed_or_withdrawn_whatever_one_step_does(
    server, sqlite_db, tmp_path, path, rule
):
    config = _config(tmp_path, str(sqlite_db.url), server)
    server.rules[path] = rule
    server.late_seconds = 3 * TIMEOUT
    code, out, err, took = _in_process(config, *_args("release", tmp_path))
    assert took < BOUND, f"{rule} on {path}: {took:.1f} s"
    state = _states(sqlite_db)["new-1@firma.de"]
    live = f"kunde@firma.de|{_d('new-1@firma.de')}" in server.map_text
    if state == "confirmed":
        assert code == 0 and live
        assert err == ""  # --digest given: nothing to look up, nothing to warn about
    else:
        assert state == "withdrawn" and code == 1 and not live
        assert "withdrawn from every controller" in err
    assert err.count("\n") <= 1 and "Traceback" not in err
    # Only a late answer to a save that was applied can end confirmed.
    assert (state == "confirmed") == (rule == "late" and path == "/savemap")
