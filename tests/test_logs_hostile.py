"""Logs that are broken or hostile: bad times, FIFOs, unreadable folders, damaged archives,
credentials in logged SMTP commands. The review must still work, say what it skipped, and
never hang, crash or show a password."""

from __future__ import annotations

import grp
import gzip
import json
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.errors import HelpdeskError
from helpdesk.logs.files import ReadState, expand, iter_lines
from helpdesk.sendlog.offenders import analyze
from helpdesk.sendlog.settings import SendlogSettings
from helpdesk.sendlog.trails import trail, user_detail
from helpdesk.spam.preview import recent_scores
from tests.conftest import HELPDESK_BIN
from tests.hostile import AUTH_SECRET, assert_no_secret
from tests.test_offenders import NOW, VICTIM, scenario
from tests.test_sendlog import SAMPLES, sample_files

NO_CONFIG = {"HELPDESK_CONFIG": "", "XDG_CONFIG_HOME": "/nonexistent", "DATABASE_URL": ""}
SECRET = AUTH_SECRET  # base64 of "user\0user\0secret"
HOUR = NOW - timedelta(hours=3)
AUTH_A = f"A=dovecot_plain:{VICTIM}"


def _submission(stamp: str, n: int) -> str:
    return (
        f"{stamp} 1xBad{n % 10}-{n:06d}-Zz <= {VICTIM} H=(pc) [192.0.2.201]:4711 P=esmtpsa "
        f'{AUTH_A} S=100 id=bad{n}@x T="Win" for a{n}@gmail.example'
    )


# Times that cannot be true, each on a line the ranking would need (an authenticated sender).
BAD_TIMES = [
    "2026-11-31 10:00:00",  # no 31 November
    "2026-13-45 10:00:00",  # no month 13
    "2026-11-27 25:61:61",  # no such clock time
    "9999-12-31 23:59:59 -1200",  # the zone takes it past year 9999
    "9999-12-31 23:59:59",  # far future
    "2099-01-01 00:00:00",  # future, and starts with 20 like every good line
    "0001-01-01 00:00:00",  # far past
    "1969-12-31 23:59:59",  # before 1970
    "2026-11-27 11:00:00 +9959",  # a zone of 99 hours
    "0000-00-00 00:00:00",
]
BAD_LINES = [_submission(stamp, n) for n, stamp in enumerate(BAD_TIMES)] + [
    f"2026-11-31 10:00:01 1xBadR-000001-Zz H=(pc) [192.0.2.201]:1 F=<{VICTIM}> {AUTH_A} "
    "rejected after DATA: blocked as SPAM",
    "9999-12-31 23:59:59 -1200 dovecot_plain authenticator failed for (User) "
    f"[203.0.113.9]:5555: 535 Incorrect authentication data (set_id={VICTIM})",
]


def _scenario_text(*, junk: bool = True) -> str:
    log = scenario()
    if not junk:  # every line then starts with a year: the fast path of the analysis
        log.lines = [x for x in log.lines if x[1][:2] == "20"]
    return "\n".join(text for _, text in sorted(log.lines, key=lambda x: x[0])) + "\n"


def _samples_text() -> str:
    return "".join(p.read_bytes().decode("utf-8", "surrogateescape") for p in sample_files())


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


@pytest.mark.parametrize("with_samples", [True, False], ids=["real-samples", "fast-path"])
def test_impossible_times_are_counted_and_the_victim_still_ranks_first(tmp_path, with_samples):
    good = (_samples_text() if with_samples else "") + _scenario_text(junk=with_samples)
    clean = analyze(expand([_write(tmp_path / "clean", good)]), SendlogSettings(), now=NOW)
    bad = "\n".join(BAD_LINES) + "\n"
    dirty_path = _write(tmp_path / "dirty", good + bad)
    dirty = analyze(expand([dirty_path]), SendlogSettings(), now=NOW)
    assert dirty.users[0].user == VICTIM
    assert dirty.offenders_json() == clean.offenders_json()
    assert dirty.guessing_json() == clean.guessing_json()
    assert dirty.unreadable == clean.unreadable + len(BAD_LINES)
    # the same lines in the middle of the log, not only at its end
    mid = good.index("\n", len(good) // 2) + 1
    middle = analyze(
        expand([_write(tmp_path / "middle", good[:mid] + bad + good[mid:])]),
        SendlogSettings(),
        now=NOW,
    )
    assert middle.offenders_json() == clean.offenders_json()
    assert middle.unreadable == dirty.unreadable


def test_impossible_times_in_trails_details_and_preview(tmp_path):
    good = _scenario_text()
    eid = "1xBad3-000003-Zz"  # the 9999 -1200 line's id: a trail still shows the line
    path = _write(tmp_path / "mainlog", good + "\n".join(BAD_LINES) + "\n")
    lines = trail(expand([path]), eid)
    assert [t.time for t in lines] == [None] and lines[0].text.startswith("9999-12-31")
    files = expand([path])
    detail = user_detail(files, VICTIM, start=NOW - timedelta(days=1), end=NOW, limit=500)
    clean = user_detail(
        expand([_write(tmp_path / "clean", good)]),
        VICTIM,
        start=NOW - timedelta(days=1),
        end=NOW,
        limit=500,
    )
    assert [m.as_dict() for m in detail.messages] == [m.as_dict() for m in clean.messages]
    assert detail.activity == clean.activity

    scored = [
        f"2026-11-27 10:00:00 1xSpm1-000001-Ab spam-score=6.3 action=add header rcpt={VICTIM}",
        f"9999-12-31 23:59:59 -1200 1xSpm2-000002-Ab spam-score=9.9 action=reject rcpt={VICTIM}",
        f"2026-11-31 10:00:00 1xSpm3-000003-Ab spam-score=9.9 action=reject rcpt={VICTIM}",
        f"2026-11-27 10:00:02 1xSpm4-000004-Ab spam-score=1.0 action=no action rcpt={VICTIM}",
    ]
    spam_log = _write(tmp_path / "spamlog", "\n".join(scored) + "\n")
    got = recent_scores([str(spam_log)], VICTIM)
    assert [(s.exim_id, s.score) for s in got] == [
        ("1xSpm1-000001-Ab", 6.3),
        ("1xSpm4-000004-Ab", 1.0),
    ]


def test_the_blocked_list_skips_lines_whose_time_cannot_be_true(tmp_path):
    from helpdesk.rspamd.exim_rejects import read_exim_rejects

    refusal = (
        " 1xRj{n:02d}-{n:06d}-Zz H=(pc) [192.0.2.201]:1 F=<{v}> A=dovecot_plain:{v} "
        "rejected after DATA: blocked as SPAM"
    )
    stamps = ["2026-11-27 10:00:00", *BAD_TIMES, "2026-11-27 10:00:05 +0000"]
    lines = [stamp + refusal.format(n=n, v=VICTIM) for n, stamp in enumerate(stamps)]
    path = _write(tmp_path / "mainlog", "\n".join(lines) + "\n")
    got = read_exim_rejects([path])
    last = len(stamps) - 1
    assert [r.exim_id for r in got] == ["1xRj00-000000-Zz", f"1xRj{last:02d}-{last:06d}-Zz"]


def test_offenders_and_trail_cli_survive_bad_times_and_count_them(tmp_path):
    path = _write(tmp_path / "mainlog", _scenario_text() + "\n".join(BAD_LINES) + "\n")
    out = _cli("offenders", "--log", str(path), "--json", "--since", "400d")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["user"] == VICTIM
    # The bad lines, and not the scenario's junk line: that one the ranking never needed.
    assert f"{len(BAD_LINES)} unreadable lines skipped" in out.stderr
    trail_out = _cli("trail", "1xBad3-000003-Zz", "--log", str(path), "--json")
    assert trail_out.returncode == 0, trail_out.stderr
    assert json.loads(trail_out.stdout)[0]["time"] is None


# --------------------------------------------------------------------------- --since


@pytest.mark.parametrize("since", ["401d", "1000000d", "58w", "99999999999999999999w"])
@pytest.mark.parametrize("command", ["offenders", "audit", "blocked"])
def test_since_longer_than_400_days_is_one_line(tmp_path, command, since):
    log = _write(tmp_path / "mainlog", _scenario_text())
    args = [command, "--since", since]
    if command != "audit":
        args += ["--log", str(log)]
    out = _cli(*args)
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "400 days" in out.stderr or "too long" in out.stderr
    assert out.stdout == ""


def test_400_days_is_accepted(tmp_path):
    log = _write(tmp_path / "mainlog", _scenario_text())
    out = _cli("offenders", "--since", "400d", "--log", str(log), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["user"] == VICTIM


# --------------------------------------------------------------------------- not a file


@pytest.fixture
def fifo(tmp_path) -> Iterator[Path]:
    path = tmp_path / "mainlog.fifo"
    os.mkfifo(path)
    yield path
    # a reader that did block would hold the FIFO open: a writer frees it so nothing hangs
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


def _within(seconds: float, fn, *args, **kwargs):
    """fn's result or exception, or a failure when it does not end in time (it would hang)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__} did not end within {seconds} s"
    return box


def test_a_fifo_is_refused_with_one_line_and_nothing_blocks(tmp_path, fifo):
    real = _write(tmp_path / "mainlog", _scenario_text())
    link = tmp_path / "current"
    link.symlink_to(fifo)
    for patterns in ([fifo], [real, fifo], [link], [str(tmp_path / "mainlog*")]):
        box = _within(10, expand, patterns)
        assert isinstance(box.get("error"), HelpdeskError), box
        assert str(box["error"]).endswith("is a FIFO, not a log file")
    box = _within(10, recent_scores, [str(fifo)], VICTIM)
    assert "is a FIFO, not a log file" in str(box.get("error"))
    for args in (
        ["offenders", "--log", str(real), "--log", str(fifo)],
        ["trail", "1xAbCd-000002-Zz", "--log", str(link)],
    ):
        out = _cli(*args, timeout=30)
        assert out.returncode == 1
        assert out.stderr.strip().splitlines() == [
            f"helpdesk: {args[-1]} is a FIFO, not a log file"
        ]


def test_a_fifo_swapped_in_after_the_listing_is_refused_too(tmp_path, fifo):
    from helpdesk.logs.files import chunks

    path = _write(tmp_path / "mainlog", _scenario_text())
    files = expand([path])
    path.unlink()
    path.symlink_to(fifo)
    box = _within(10, lambda: list(chunks(files)))
    assert "is a FIFO, not a log file" in str(box.get("error"))


# --------------------------------------------------------------------------- permissions


def _as_nobody() -> list[str]:
    """A command prefix that runs the child as nobody: root ignores file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is needed to drop root's privileges")
    user = pwd.getpwnam("nobody")
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


@pytest.fixture
def locked_logs() -> Iterator[Path]:
    """/tmp/X/logs (mode 750, group adm) with a mainlog in it, X open to everyone."""
    top = Path(tempfile.mkdtemp(prefix="helpdesk-perm-", dir="/tmp"))
    top.chmod(0o755)
    logs = top / "logs"
    logs.mkdir()
    (logs / "mainlog").write_text(_scenario_text())
    gid = grp.getgrnam("adm").gr_gid if _has_group("adm") else 0
    if os.geteuid() == 0:
        os.chown(logs, 0, gid)
        os.chown(logs / "mainlog", 0, gid)
    (logs / "mainlog").chmod(0o640)
    logs.chmod(0o750)
    yield logs
    logs.chmod(0o755)
    for p in logs.iterdir():
        p.unlink()
    logs.rmdir()
    top.rmdir()


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("pattern", ["logs/mainlog", "logs/mainlog*", "logs/*"])
def test_an_unreadable_folder_says_permission_denied(locked_logs, pattern):
    if os.geteuid() != 0 and os.access(locked_logs, os.R_OK):
        pytest.skip("this user may read the folder")
    target = str(locked_logs.parent / pattern)
    out = _cli("offenders", "--log", target, prefix=_as_nobody())
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "permission denied" in lines[0]
    assert "no log file matches" not in lines[0] and "not found" not in lines[0]
    if _has_group("adm"):
        assert "group adm" in lines[0]


def test_an_unreadable_file_in_a_readable_folder_says_permission_denied(locked_logs):
    locked_logs.chmod(0o755)
    out = _cli(
        "trail", "1xAbCd-000002-Zz", "--log", str(locked_logs / "mainlog"), prefix=_as_nobody()
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"helpdesk: cannot read {locked_logs / 'mainlog'}: permission denied"
        + (" (group adm may read it: ask to be added to that group)" if _has_group("adm") else "")
    ]


# --------------------------------------------------------------------------- damaged archives


def test_a_truncated_gzip_is_read_as_far_as_it_goes(tmp_path):
    # big enough for several chunks of decompressed output
    lines = [
        f"2026-11-27 {h:02d}:{m:02d}:{s:02d} 1abcDe-{n:06d}-Ab => user{n}@example.org "
        'R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.1] C="250 OK"'
        for n, (h, m, s) in enumerate((n // 3600 % 24, n // 60 % 60, n % 60) for n in range(40000))
    ]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1)
    (tmp_path / "mainlog.1.gz").write_bytes(data[: len(data) * 6 // 10])
    _write(tmp_path / "mainlog", "2026-11-28 00:00:00 1abcDe-999999-Ab Completed\n")
    state = ReadState()
    got = [line for _lf, _n, line in iter_lines(expand([tmp_path / "mainlog*"]), state=state)]
    assert got[-1] == b"2026-11-28 00:00:00 1abcDe-999999-Ab Completed"
    assert 0.5 * len(lines) < len(got) - 1 < 0.7 * len(lines)
    assert got[: len(got) - 2] == [x.encode() for x in lines[: len(got) - 2]]
    assert state.broken == [str(tmp_path / "mainlog.1.gz")]
    assert "truncated" in str(state.damage[str(tmp_path / "mainlog.1.gz")])
    out = _cli("offenders", "--log", str(tmp_path / "mainlog*"))
    assert out.returncode == 0, out.stderr
    assert f"{tmp_path / 'mainlog.1.gz'} cut short (the compressed data ends early" in out.stderr


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz"])
def test_a_corrupt_archive_gives_what_comes_before_the_damage(tmp_path, kind):
    import bz2
    import lzma

    # bzip2 in 100 kB blocks: the damage then leaves whole blocks before it
    compress = {"gzip": gzip.compress, "bz2": lambda b: bz2.compress(b, 1), "xz": lzma.compress}[
        kind
    ]
    # Seeded: what a damaged deflate stream decodes to before it fails depends on the bytes,
    # and garbage from some random texts held more newlines than the whole file.
    rng = random.Random(11)
    text = "".join(
        f"2026-11-27 10:{n // 60 % 60:02d}:{n % 60:02d} 1abcDe-{n:06d}-Ab Completed "
        f"{rng.randbytes(12).hex()}\n"
        for n in range(20000)
    )
    data = bytearray(compress(text.encode()))
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path = tmp_path / f"mainlog.2.{kind}"
    path.write_bytes(bytes(data))
    state = ReadState()
    got = sum(1 for _ in iter_lines(expand([path]), state=state))
    assert 0 < got < 20000
    assert state.broken == [str(path)]
    damage = str(state.damage[str(path)])
    assert "corrupt" in damage or "truncated" in damage


# --------------------------------------------------------------------------- credentials


def _auth_lines(t: str, eid: str) -> list[str]:
    """What Exim writes when a client sends credentials it should not have (smtp_in.c), and
    the client side's error after AUTH (transports/smtp.c)."""
    return [
        f'{t} SMTP protocol error in "AUTH PLAIN {SECRET}" H=(pc) [192.0.2.201]:4711 '
        "I=[192.0.2.10]:587 AUTH command used when not advertised",
        f"{t} SMTP call from (pc) [192.0.2.201]:4711 I=[192.0.2.10]:587 dropped: too many "
        f'syntax or protocol errors (last command was "AUTH PLAIN {SECRET}", C=EHLO,AUTH)',
        f'{t} SMTP syntax error in "auth login {SECRET}" H=(pc) [192.0.2.201]:4711 '
        "I=[192.0.2.10]:587 unrecognized command",
        f"{t} SMTP protocol synchronization error (next input sent too soon: pipelining was "
        'not advertised): rejected "AUTH LOGIN" H=(pc) [192.0.2.201]:4711 I=[192.0.2.10]:587 '
        f'next input="{SECRET}\\r\\ncGFzc3dvcmQ=\\r\\n"',
        f"{t} SMTP call from (pc) [192.0.2.201]:4711 dropped: too many unrecognized commands "
        f'(last was "{SECRET}")',
        f"{t} {eid} == a@remote.example R=smarthost T=remote_smtp defer (-42): SMTP error from "
        f"remote mail server after AUTH PLAIN {SECRET}: 535 5.7.8 Authentication failed",
    ]


def test_mask_credentials_on_every_form():
    from helpdesk.logs.mask import mask_credentials

    for line in _auth_lines("2026-11-27 10:00:00", "1xAbCd-000002-Zz"):
        masked = mask_credentials(line)
        assert SECRET not in masked and "cGFzc3dvcmQ=" not in masked, masked
        assert "***" in masked
    # what is not a credential stays
    for line in [
        '2016-03-18 00:34:06 SMTP protocol error in "AUTH LOGIN" H=(x) [192.0.2.1] AUTH command '
        "used when not advertised",
        '2026-11-27 10:00:00 1xAbCd-000001-Ab <= a@x.example P=esmtpa A=plain:a@x.example T="Hi"',
        '2026-11-27 10:00:00 SMTP call from x dropped: too many nonmail commands (last was "RSET")',
    ]:
        assert mask_credentials(line) == line


def test_auth_arguments_never_reach_trail_offenders_or_details(tmp_path):
    log = scenario()
    eid = log.submit(
        HOUR, VICTIM, "192.0.2.201", ["a@remote.example"], fates={"a@remote.example": "=="}
    )
    stamp = f"{HOUR:%Y-%m-%d %H:%M:%S}"
    for line in _auth_lines(stamp, eid):
        log.lines.append((HOUR, line))
    path = log.write(tmp_path / "mainlog")
    assert SECRET in path.read_text()
    outputs = [
        _cli("trail", eid, "--log", str(path)),
        _cli("trail", eid, "--log", str(path), "--json"),
        _cli("trail", "192.0.2.201", "--log", str(path), "--json"),  # every line of the IP
        _cli("offenders", "--log", str(path), "--json", "--since", "400d"),
        _cli("offenders", "--log", str(path), "--since", "400d"),
    ]
    for out in outputs:
        assert out.returncode == 0, out.stderr
        assert_no_secret(out.stdout + out.stderr, where=" ".join(out.args[1:3]))
        assert "cGFzc3dvcmQ=" not in out.stdout + out.stderr
    trailed = json.loads(outputs[2].stdout)
    assert sum("***" in t["text"] for t in trailed) == len(_auth_lines(stamp, eid))
    detail = user_detail(expand([path]), VICTIM, start=NOW - timedelta(days=1), end=NOW, limit=500)
    deferred = [m for m in detail.messages if m.exim_id == eid]
    assert deferred and SECRET not in json.dumps([m.as_dict() for m in detail.messages])
    assert "AUTH PLAIN ***" in deferred[0].recipients["a@remote.example"].detail


def test_auth_arguments_never_reach_the_preview(tmp_path):
    t = "2026-11-27 10:00:00"
    lines = [
        f"{t} 1xSpm1-000001-Ab spam-score=6.3 action=add header rcpt={VICTIM}",
        f"{t} 1xSpm1-000001-Ab <= b@x.example H=([127.0.0.1]) [127.0.0.1] P=esmtp S=549 "
        f'id=1@t T="AUTH PLAIN {SECRET}" for {VICTIM}',
        *_auth_lines(t, "1xSpm1-000001-Ab"),
    ]
    got = recent_scores([str(_write(tmp_path / "mainlog", "\n".join(lines) + "\n"))], VICTIM)
    assert len(got) == 1 and SECRET not in repr(got)


# --------------------------------------------------------------------------- one reading


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    from helpdesk.config import load_config
    from helpdesk.rspamd.exim_rejects import configured_mainlogs

    folder = tmp_path / "etc"
    (folder / "logs").mkdir(parents=True)
    _write(folder / "logs" / "mainlog", _scenario_text())
    cfg = folder / "helpdesk.toml"
    cfg.write_text('[sendlog]\npaths = ["logs/main*"]\n')
    cfg.chmod(0o600)
    config = load_config(cfg)
    want = str(folder / "logs" / "main*")
    assert SendlogSettings.from_config(config).paths == (want,)
    assert configured_mainlogs(config) == [want]
    other = tmp_path / "elsewhere"
    other.mkdir()
    old = os.getcwd()
    os.chdir(other)
    try:
        assert [f.path for f in expand(SendlogSettings.from_config(config).paths)] == [
            folder / "logs" / "mainlog"
        ]
    finally:
        os.chdir(old)


def test_settings_reject_bad_paths_and_long_windows():
    from helpdesk.errors import ConfigError

    for table in ({"paths": []}, {"paths": [""]}, {"since": "401d"}, {"baseline": "1000000d"}):
        with pytest.raises(ConfigError):
            SendlogSettings.from_dict(table)
    assert SendlogSettings.from_dict({"since": "400d"}).since == timedelta(days=400)


# --------------------------------------------------------------------------- helpers


def _cli(
    *args: str, timeout: float = 120, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **NO_CONFIG, "HOME": "/tmp"}
    return subprocess.run(
        [*(prefix or []), str(HELPDESK_BIN), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_the_samples_are_real_files():
    assert SAMPLES.is_dir() and len(sample_files()) > 20


# --------------------------------------------------------------------------- the screen


@pytest.mark.tui
async def test_the_send_log_screen_ranks_despite_bad_lines_and_refuses_a_fifo(tmp_path, fifo):
    import asyncio

    from helpdesk.mailcenter.db import Database
    from tests.test_sendlog_tui import (
        VICTIM as TUI_VICTIM,
    )
    from tests.test_sendlog_tui import (
        make_app,
        open_send_log,
        seed,
        text_of,
        users_in,
        write_log,
    )

    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    try:
        seed(db)
        log = tmp_path / "mainlog"
        write_log(log, datetime.now().replace(microsecond=0))
        with log.open("a") as f:
            f.write("\n".join(BAD_LINES) + "\n")
        app = make_app(db, log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await asyncio.wait_for(open_send_log(app, pilot), 30)
            assert users_in(screen)[0] == TUI_VICTIM
            status = text_of(screen, "#sendlog-status")
            assert "failed" not in status.lower() and f"{len(BAD_LINES)} unreadable lines" in status
        app = make_app(db, fifo)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await asyncio.wait_for(open_send_log(app, pilot), 30)
            assert "is a FIFO, not a log file" in text_of(screen, "#sendlog-status")
    finally:
        db.dispose()
