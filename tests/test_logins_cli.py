"""`helpdesk logins` as scripts and people call it: the captured stack lines, bad input in one
line, hostile values from the logs as text, German, and --json the same in both languages."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.logins.lastlogin import last_login
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from tests.conftest import run_cli
from tests.hostile import AUTH_LINE, VALUES, assert_clean, assert_markup_shown, assert_no_secret

DATA = Path(__file__).parent / "data" / "dovecot"
ADDRESS = "kunde@capture.example"


def _world(
    tmp_path: Path,
    extra_dovecot: list[str] = (),
    extra_exim: list[str] = (),
    *,
    last_login_table: bool = True,
) -> Path:
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    if not last_login_table:
        # A Mailcenter database from before the table (or one Dovecot's plugin never used).
        with db.begin() as conn:
            last_login.drop(conn)
    with db.begin() as conn:
        create_mailbox(conn, ADDRESS, password_hash="x", realname="Erika Kunde")
        create_mailbox(conn, "neu@capture.example", password_hash="x", must_change_password=True)
    db.dispose()
    first = (DATA / "mainlog").read_text().split(" ", 1)[0]
    when = (datetime.strptime(first, "%Y-%m-%d") + timedelta(days=1)).timestamp()
    dovecot, mainlog = tmp_path / "dovecot.log", tmp_path / "mainlog"
    for src, dst, extra in ((DATA / "dovecot.log", dovecot, extra_dovecot),):
        body = src.read_text() + "".join(line + "\n" for line in extra)
        dst.write_bytes(body.encode("utf-8", "surrogateescape"))
    shutil.copy(DATA / "mainlog", mainlog)
    if extra_exim:
        with mainlog.open("ab") as f:
            f.write("".join(line + "\n" for line in extra_exim).encode("utf-8", "surrogateescape"))
    for path in (dovecot, mainlog):
        os.utime(path, (when, when))
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mailcenter.sqlite"}"\n'
        f'[sendlog]\npaths = ["{mainlog}"]\n'
        f'[logins]\ndovecot_paths = ["{dovecot}"]\nsince = "400d"\n'
        f'fail2ban_log = "{tmp_path / "fail2ban.log"}"\n'
    )
    return config


def test_human_output_names_the_diagnoses(tmp_path):
    out = run_cli("logins", ADDRESS, config=_world(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "What to tell the customer:" in out.stdout
    assert "set the password transfer to “normal password”" in out.stdout
    assert "iPhone Mail (iOS) · IMAP · PLAIN: 1 ok, 0 failed" in out.stdout
    assert "probably this mailbox's device (same address)" in out.stdout


def test_json_is_the_same_in_german(tmp_path):
    config = _world(tmp_path)
    en = run_cli("logins", ADDRESS, "--json", config=config)
    de = run_cli("--ui-language", "de", "logins", ADDRESS, "--json", config=config)
    assert en.returncode == de.returncode == 0
    a, b = json.loads(en.stdout), json.loads(de.stdout)
    a.pop("end"), b.pop("end"), a.pop("start"), b.pop("start")
    assert a == b
    human = run_cli("--ui-language", "de", "logins", ADDRESS, config=config)
    assert "Was dem Kunden zu sagen ist:" in human.stdout
    assert "Passwortübertragung auf „Passwort, normal“" in human.stdout


def test_must_change_password_is_a_diagnosis(tmp_path):
    out = run_cli("logins", "neu@capture.example", "--json", config=_world(tmp_path))
    assert out.returncode == 0, out.stderr
    codes = [d["code"] for d in json.loads(out.stdout)["diagnoses"]]
    assert codes == ["must_change"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nobody@capture.example"], "nobody@capture.example"),
        (["not-an-address"], "not a mail address"),
        ([ADDRESS, "--since", "soon"], "not a duration"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, says):
    out = run_cli("logins", *args, config=_world(tmp_path))
    assert out.returncode != 0
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and says in out.stderr


def test_unreadable_dovecot_log_is_a_warning_and_exim_still_counts(tmp_path):
    config = _world(tmp_path)
    (tmp_path / "dovecot.log").write_text("<13>1 2026 something else\n")
    out = run_cli("logins", ADDRESS, "--json", config=config)
    assert out.returncode == 0
    assert "first unrecognised line: <13>1 2026 something else" in out.stderr
    assert any(e["protocol"] == "smtp" for e in json.loads(out.stdout)["events"])


def test_hostile_values_from_the_logs_are_text(tmp_path):
    dovecot, exim = [], []
    for i, value in enumerate(VALUES.values()):
        name = value.replace("\n", " ").replace(",", " ").replace(">", " ")
        session = f"h{i}"
        stamp = f"Nov 30 23:5{i % 10}:00"
        dovecot.append(
            f"{stamp} imap-login: Info: ID sent: name={name}, os={name}: user=<>, "
            f"rip=127.0.0.12, lip=127.0.0.1, TLS, session=<{session}>"
        )
        dovecot.append(
            f"{stamp} imap-login: Info: Login: user=<{ADDRESS}>, method={name[:20]}, "
            f"rip=127.0.0.12, lip=127.0.0.1, mpid=1, TLS, session=<{session}>"
        )
        dovecot.append(
            f"{stamp} imap-login: Info: Disconnected (auth failed, 1 attempts in 0 secs): "
            f"user=<kunde@capture.{name}>, method=PLAIN, rip=127.0.0.12, lip=127.0.0.1, TLS"
        )
        helo = name.replace(")", " ").replace(" ", "_")
        exim.append(
            f"2026-11-30 23:5{i % 10}:00 sql_plain authenticator failed for ({helo}) "
            f"[127.0.0.16]:1 I=[127.0.0.1]:2587: 535 Incorrect authentication data "
            f"(set_id={ADDRESS})"
        )
    exim.append("2026-11-30 23:59:00 " + AUTH_LINE.replace("192.0.2.201", "127.0.0.16"))
    config = _world(tmp_path, dovecot, exim)
    for lang in ("en", "de"):
        out = run_cli("--ui-language", lang, "logins", ADDRESS, config=config)
        assert out.returncode == 0, out.stderr
        for text, where in ((out.stdout, "stdout"), (out.stderr, "stderr")):
            assert_clean(text, where=where)
            assert_markup_shown(text, where=where)
            assert_no_secret(text, where=where)
    data = run_cli("logins", ADDRESS, "--json", config=config)
    assert data.returncode == 0
    assert_no_secret(data.stdout)
    assert "\x1b" not in data.stdout


def test_a_database_without_the_last_login_table_is_a_warning(tmp_path):
    out = run_cli("logins", ADDRESS, "--json", config=_world(tmp_path, last_login_table=False))
    assert out.returncode == 0
    assert "no last_login table in the database" in out.stderr
    assert json.loads(out.stdout)["last_login"] == {}


def test_last_login_in_show_and_logins(tmp_path):
    # Rows as Dovecot's plugin writes them: Unix seconds per service, never SMTP.
    config = _world(tmp_path)
    imap_at = datetime(2026, 1, 15, 12, 30, 5, tzinfo=UTC)  # 13:30 CET
    pop3_at = datetime(2026, 7, 15, 12, 30, 5, tzinfo=UTC)  # 14:30 CEST
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    with db.begin() as conn:
        conn.execute(
            last_login.insert(),
            [
                {"username": ADDRESS, "service": s, "last_login": int(w.timestamp())}
                for s, w in (("imap", imap_at), ("pop3", pop3_at))
            ],
        )
    db.dispose()
    with config.open("a") as f:
        f.write('[ui]\ntimezone = "Europe/Berlin"\n')

    shown = json.loads(run_cli("show", ADDRESS, "--json", config=config).stdout)
    assert shown["last_login"] == {"imap": "2026-01-15T12:30:05Z", "pop3": "2026-07-15T12:30:05Z"}
    human = run_cli("show", ADDRESS, config=config).stdout
    assert "IMAP 2026-01-15 13:30:05 CET (SMTP logins: helpdesk logins)" in human
    assert "POP3 2026-07-15 14:30:05 CEST" in human

    logins = run_cli("logins", ADDRESS, "--json", config=config)
    assert json.loads(logins.stdout)["last_login"] == shown["last_login"]
    text = run_cli("logins", ADDRESS, config=config).stdout
    assert "Recorded by Dovecot: IMAP 2026-01-15 13:30, POP3 2026-07-15 14:30" in text
    assert "(SMTP only from Exim's arrivals: Dovecot never sees it)" in text


def test_json_times_are_utc_whatever_the_machines_zone(tmp_path):
    # The logs write this machine's local time; --json says UTC (November: CET is UTC+1).
    config = _world(tmp_path)
    runs = {
        tz: json.loads(run_cli("logins", ADDRESS, "--json", config=config, env={"TZ": tz}).stdout)
        for tz in ("UTC", "Europe/Berlin")
    }
    utc, berlin = runs["UTC"], runs["Europe/Berlin"]
    assert utc["events"] and len(utc["events"]) == len(berlin["events"])
    for a, b in zip(utc["events"], berlin["events"], strict=True):
        assert a["time"].endswith("Z") and b["time"].endswith("Z")
        shift = datetime.fromisoformat(a["time"]) - datetime.fromisoformat(b["time"])
        assert shift == timedelta(hours=1)
    assert all(g["last"].endswith("Z") for g in berlin["groups"])
    fleet = run_cli("clients", "--json", config=config, env={"TZ": "Europe/Berlin"})
    found = json.loads(fleet.stdout)["mailboxes"]
    assert found and all(m["last"].endswith("Z") for m in found)


def test_journal_true_reads_dovecot_from_journalctl(tmp_path):
    # This machine runs no journald with Dovecot in it: a journalctl on PATH answers with the
    # captured `journalctl -o json` lines (tests/data/dovecot/journal.json) and records how it
    # was called.
    config = _world(tmp_path)
    text = config.read_text().replace(
        f'dovecot_paths = ["{tmp_path / "dovecot.log"}"]', "dovecot_paths = []\njournal = true"
    )
    config.write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "journalctl"
    fake.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path / "argv"}"\ncat "{DATA / "journal.json"}"\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    out = run_cli("logins", ADDRESS, "--json", config=config, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "journal" in data["files"]
    seen = {(e["protocol"], e["ip"], e["ok"], e["reason"]) for e in data["events"]}
    assert ("imap", "127.0.0.10", True, None) in seen
    assert ("imap", "127.0.0.66", False, "plaintext_refused") in seen
    assert any(e["client"] == "iPhone Mail (iOS)" for e in data["events"])
    argv = (tmp_path / "argv").read_text().split("\n")
    assert {"-o", "json", "SYSLOG_IDENTIFIER=dovecot"} <= set(argv)

    fake.write_text("#!/bin/sh\necho 'No journal files were found.' >&2\nexit 1\n")
    out = run_cli("logins", ADDRESS, config=config, env=env)
    assert out.returncode == 0
    assert "journalctl: No journal files were found." in out.stderr


def test_no_dovecot_file_only_with_the_journal(tmp_path):
    config = _world(tmp_path)
    text = config.read_text().replace(
        f'dovecot_paths = ["{tmp_path / "dovecot.log"}"]', "dovecot_paths = []"
    )
    config.write_text(text)
    out = run_cli("logins", ADDRESS, config=config)
    assert out.returncode != 0 and out.stdout == ""
    assert "dovecot_paths may be empty only with journal = true" in out.stderr
