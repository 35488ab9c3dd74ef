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
from helpdesk.mailcenter.schema import outbound_releases
from helpdesk.rspamd.client import (
    Cluster,
    Controller,
    ControllerSettings,
    RspamdError,
    RspamdSettings,
)
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


def faults_database(tmp_path: Path) -> Database:
    """A SQLite Mailcenter with one customer and one confirmed release (also for the release
    faults in tests/test_rspamd_faults_releases.py)."""
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    with database.begin() as conn:
        create_mailbox(conn, "kunde@firma.de", realname="Test Kunde")
        conn.execute(insert(outbound_releases).values(**_confirmed_row("kunde@firma.de")))
    return database


@pytest.fixture
def sqlite_db(tmp_path):
    database = faults_database(tmp_path)
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
