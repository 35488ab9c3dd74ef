"""`helpdesk offenders` and `helpdesk trail` through the real console script, and on the
local stack's own mainlog after a round of realistic traffic."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import HELPDESK_BIN, run_cli

CONTRACT = {
    "user",
    "score",
    "reasons",
    "messages",
    "recipients",
    "rejected",
    "peak_5min",
    "client_ips",
    "new_client_ips",
    "auth_failures",
    "no_tls",
}
NO_CONFIG = {"HELPDESK_CONFIG": "", "XDG_CONFIG_HOME": "/nonexistent", "DATABASE_URL": ""}
VICTIM = "kontakt@gartenbau.example"
SECRET = "dXNlcgB1c2VyAHNlY3JldA=="  # base64 of "user\0user\0secret"


def _log(path: Path, now: datetime) -> Path:
    """A small log ending now: a victim bursting spam, an ordinary user, password guessing."""
    lines = []
    seq = 0

    def stamp(t: datetime) -> str:
        return t.strftime("%Y-%m-%d %H:%M:%S")

    def submit(t: datetime, user: str, ip: str, rcpts: list[str]) -> str:
        nonlocal seq
        seq += 1
        eid = f"1xCli{seq % 10}-{seq:06d}-Ab"
        lines.append(
            f"{stamp(t)} {eid} <= {user} H=(pc) [{ip}]:4711 P=esmtpsa X=TLS1.3:x:256 "
            f'A=dovecot_plain:{user} S=100 id=m{seq}@gartenbau.example T="Hallo" '
            f"for {' '.join(rcpts)}"
        )
        for r in rcpts:
            lines.append(f"{stamp(t)} {eid} => {r} R=dnslookup T=remote_smtp H=mx [198.51.100.1]")
        lines.append(f"{stamp(t)} {eid} Completed")
        return eid

    t0 = now - timedelta(hours=1)
    submit(now - timedelta(days=2), VICTIM, "198.51.100.7", ["a@web.example"])
    for k in range(60):
        submit(t0 + timedelta(seconds=3 * k), VICTIM, "192.0.2.201", [f"x{k}@gmail.example"] * 2)
    for k in range(8):
        lines.append(
            f"{stamp(t0 + timedelta(seconds=k))} 1xCliZ-{k:06d}-Zz H=(pc) [192.0.2.201]:1 "
            f"F=<{VICTIM}> A=dovecot_plain:{VICTIM} rejected after DATA: blocked as SPAM"
        )
    submit(t0, "anna@gartenbau.example", "198.51.100.8", ["b@web.example"])
    for k in range(15):
        lines.append(
            f"{stamp(t0 + timedelta(minutes=k))} dovecot_plain authenticator failed for (User) "
            f"[203.0.113.9]:5555: 535 Incorrect authentication data (set_id=u{k}@gartenbau.example)"
        )
    lines.sort(key=lambda line: line[:19])
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def mainlog(tmp_path) -> Path:
    return _log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))


def test_offenders_json_is_a_ranked_list_without_any_config(mainlog, tmp_path):
    out = run_cli("offenders", "--log", str(mainlog), "--since", "3h", "--json", env=NO_CONFIG)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert isinstance(data, list) and [d["user"] for d in data] == [
        VICTIM,
        "anna@gartenbau.example",
    ]
    top = data[0]
    assert set(top) >= CONTRACT
    assert (top["messages"], top["rejected"], top["recipients"]) == (68, 8, 120)
    assert top["peak_5min"] == 68 and top["new_client_ips"] == ["192.0.2.201"]
    assert top["reasons"][0] == "68 messages in 5 minutes"
    assert data[1]["score"] == 0 and data[1]["reasons"] == []
    assert "read " in out.stderr and "lines from 1 file" in out.stderr


def test_offenders_human_output_names_reasons_and_guessers(mainlog):
    out = run_cli("offenders", "--log", str(mainlog), env=NO_CONFIG)
    assert out.returncode == 0, out.stderr
    assert VICTIM in out.stdout and "8 refused as spam" in out.stdout
    assert "203.0.113.9" in out.stdout and "15 failed logins on 15 accounts" in out.stdout


def test_guessing_list(mainlog):
    out = run_cli("offenders", "--log", str(mainlog), "--guessing", "--json", env=NO_CONFIG)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data[0]["ip"] == "203.0.113.9" and data[0]["failures"] == 15 and data[0]["users"] == 15


def test_config_gives_paths_window_and_local_domains(mainlog, config_file, db):
    from helpdesk.mailcenter.mailboxes import create_domain

    with db.begin() as conn:
        create_domain(conn, "gmail.example")  # pretend: then the burst went to a local domain
    cfg = Path(config_file)
    cfg.write_text(
        cfg.read_text() + f'\n[sendlog]\npaths = ["{mainlog.parent}/main*"]\nsince = "3h"\n'
    )
    out = run_cli("offenders", "--json", config=cfg)
    assert out.returncode == 0, out.stderr
    top = json.loads(out.stdout)[0]
    assert top["user"] == VICTIM and top["external_share"] == 0.0
    assert "% to external domains" not in " ".join(top["reasons"])


def test_trail_by_exim_id_and_message_id(mainlog):
    out = run_cli("trail", "1xCli3-000003-Ab", "--log", str(mainlog), "--json", env=NO_CONFIG)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [set(d) for d in data][0] == {"file", "line_no", "time", "text"}
    assert len(data) == 4 and data[0]["file"] == str(mainlog)
    assert " <= " in data[0]["text"] and data[-1]["text"].endswith("Completed")
    by_mid = run_cli("trail", "<m3@gartenbau.example>", "--log", str(mainlog), env=NO_CONFIG)
    assert by_mid.returncode == 0 and by_mid.stdout.splitlines() == [d["text"] for d in data]


def test_clear_errors(mainlog, tmp_path):
    missing = run_cli("offenders", "--log", str(tmp_path / "nope"), env=NO_CONFIG)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"helpdesk: log file not found: {tmp_path / 'nope'}"
    unknown = run_cli("trail", "1zzzzz-000000-Zz", "--log", str(mainlog), env=NO_CONFIG)
    assert unknown.returncode == 1 and "no log line mentions 1zzzzz-000000-Zz" in unknown.stderr
    bad = run_cli("offenders", "--log", str(mainlog), "--since", "soon", env=NO_CONFIG)
    assert bad.returncode == 1 and "not a duration" in bad.stderr


def _from(cwd: Path, *args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELPDESK_CONFIG": ""}
    return subprocess.run(
        [str(HELPDESK_BIN), "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_relative_paths_mean_the_same_files_from_any_working_directory(tmp_path, config_file, db):
    from helpdesk.mailcenter.mailboxes import create_mailbox

    with db.begin() as conn:
        create_mailbox(conn, VICTIM, realname="Victim")
    now = datetime.now().replace(microsecond=0)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = _log(logs / "mainlog", now)
    t = f"{now - timedelta(minutes=5):%Y-%m-%d %H:%M:%S}"
    with log.open("a") as f:
        f.write(f"{t} 1xSpmA-000001-Ab spam-score=7.5 action=add header rcpt={VICTIM}\n")
        f.write(
            f"{t} 1xSpmA-000001-Ab <= s@x.example H=([127.0.0.1]) [127.0.0.1] P=esmtp S=5 "
            f'id=s1@x T="AUTH PLAIN {SECRET}" for {VICTIM}\n'
        )
        f.write(f'{t} SMTP protocol error in "AUTH PLAIN {SECRET}" H=(pc) [192.0.2.201]:4711 '
                "I=[192.0.2.10]:587 AUTH command used when not advertised\n")  # fmt: skip
    cfg = Path(config_file)
    cfg.write_text(cfg.read_text() + '\n[sendlog]\npaths = ["logs/main*"]\nsince = "3h"\n')
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "logs").mkdir(parents=True)  # a decoy the working directory would find
    (elsewhere / "logs" / "mainlog").write_text("2026-01-01 00:00:00 1xDecoy-000001-Ab Completed\n")
    offenders = _from(elsewhere, "offenders", "--json", config=cfg)
    assert offenders.returncode == 0, offenders.stderr
    assert json.loads(offenders.stdout)[0]["user"] == VICTIM
    trail = _from(elsewhere, "trail", "1xCli3-000003-Ab", "--json", config=cfg)
    assert trail.returncode == 0, trail.stderr
    assert {d["file"] for d in json.loads(trail.stdout)} == {str(log)}
    preview = _from(elsewhere, "spam", "preview", VICTIM, "--json", config=cfg)
    assert preview.returncode == 0, preview.stderr
    assert [m["exim_id"] for m in json.loads(preview.stdout)["messages"]] == ["1xSpmA-000001-Ab"]
    human = _from(elsewhere, "spam", "preview", VICTIM, config=cfg)
    assert "AUTH PLAIN ***" in human.stdout
    for out in (offenders, trail, preview, human):
        assert SECRET not in out.stdout + out.stderr


@pytest.mark.stack
def test_on_the_stack_the_taken_over_account_ranks_first(stack, tmp_path):
    from stack.traffic import run

    # Other tests send traffic through the same stack and the same accounts; a round whose
    # log slice holds more than it sent is retried (the counts must match exactly).
    for _attempt in range(3):
        offset = stack.mainlog.stat().st_size
        summary = run(stack.env, seed=11, size=1)
        time.sleep(1)  # the last rejections are logged when the session ends
        with stack.mainlog.open("rb") as log:
            log.seek(offset)
            data = log.read()
        taken = next(u for u, t in summary["users"].items() if t["role"] == "taken-over")
        arrivals = len(re.findall(rb" <= .* A=\w+:" + re.escape(taken.encode()) + rb" ", data))
        if arrivals == summary["users"][taken]["sent"]:
            break
    else:
        pytest.fail("other traffic on the stack interfered with three rounds")
    (tmp_path / "mainlog").write_bytes(data)
    out = run_cli(
        "offenders", "--log", str(tmp_path / "mainlog"), "--since", "1h", "--json",
        config=stack.config_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    ranked = json.loads(out.stdout)
    tally = summary["users"][taken]
    top = ranked[0]
    assert top["user"] == taken
    assert top["accepted"] == tally["sent"]
    assert top["rejected"] == tally["refused_by"]["spam"]
    assert top["messages"] == tally["sent"] + tally["refused_by"]["spam"] == tally["messages"]
    assert top["recipients"] == tally["recipients"]
    assert top["external_share"] == 1.0  # the database knows the local domains
    failed = sum(f["users"].get(taken, 0) for f in summary["failed_logins"].values())
    assert top["auth_failures"] == failed
    assert tally["client_ip"] in top["client_ips"]
    assert top["no_tls"] == 1.0  # the bot speaks plain SMTP; customers use STARTTLS
    assert "refused as spam" in " ".join(top["reasons"])
    customers = {u for u, t in summary["users"].items() if t["role"] == "customer"}
    others = [u for u in ranked[1:] if u["user"] in customers]
    assert others and all(u["score"] < top["score"] for u in others)
    for u in others:
        assert u["accepted"] == summary["users"][u["user"]]["sent"]
        assert u["no_tls"] == 0.0

    from helpdesk.logs.files import expand
    from helpdesk.sendlog.trails import user_events, user_messages

    msgs = user_messages(user_events(expand([tmp_path / "mainlog"]), taken), taken, limit=500)
    refused = [m for m in msgs if m.fate == "refused"]
    assert len(refused) == tally["refused_by"]["spam"]
    trail = run_cli(
        "trail", refused[0].exim_id, "--log", str(stack.mainlog), config=stack.config_path
    )
    assert trail.returncode == 0, trail.stderr
    assert "rejected after DATA" in trail.stdout and taken in trail.stdout


def _peak_rss_mib(cmd: list[str]) -> float:
    import os
    import subprocess

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, err
    return usage.ru_maxrss / 1024


def test_memory_does_not_grow_with_the_log(tmp_path):
    """Eight times the log (the same traffic over eight times as many days) in about the
    same memory: the reader streams, only per-user totals are kept."""
    from tests.conftest import HELPDESK_BIN
    from tests.test_offenders import _bench_module

    bench = _bench_module()
    end = datetime.now().replace(microsecond=0)
    small, big = tmp_path / "small", tmp_path / "big"
    bench.generate(small, 3 << 20, seed=5, end=end, span=timedelta(days=2))
    bench.generate(big, 24 << 20, seed=5, end=end, span=timedelta(days=16))
    cmd = [str(HELPDESK_BIN), "offenders", "--since", "24h", "--log"]
    rss_small = _peak_rss_mib([*cmd, str(small)])
    rss_big = _peak_rss_mib([*cmd, str(big)])
    assert rss_big < rss_small + 16, (rss_small, rss_big)


def test_json_times_are_utc_whatever_the_machine_s_zone(tmp_path):
    """Exim writes this machine's local time without a zone; --json keeps UTC, as everywhere."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    now = datetime.now(berlin).replace(tzinfo=None, microsecond=0)
    log = _log(tmp_path / "mainlog", now)
    env = {**NO_CONFIG, "TZ": "Europe/Berlin"}

    def utc(local: datetime) -> str:
        return (
            local.replace(tzinfo=berlin).astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    out = run_cli("offenders", "--log", str(log), "--since", "3h", "--json", env=env)
    assert out.returncode == 0, out.stderr
    top = json.loads(out.stdout)[0]
    assert top["user"] == VICTIM
    assert top["first_seen"] == utc(now - timedelta(hours=1)), top["first_seen"]
    out = run_cli("trail", "1xCli3-000003-Ab", "--log", str(log), "--json", env=env)
    assert json.loads(out.stdout)[0]["time"] == utc(now - timedelta(hours=1) + timedelta(seconds=3))
