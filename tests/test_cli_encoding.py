"""Input that is not UTF-8, as real bytes: a Latin-1 terminal typing `Müller`.

Python keeps such argv bytes as lone surrogates. A search is read as Latin-1 with a note; a
ticket, reason, address or `--password-stdin` password is refused with one line, and nothing
is written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log
from tests.conftest import HELPDESK_BIN
from tests.hostile import assert_clean

DOMAIN = "example.de"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A config whose SQLite database holds Jürgen Müller's mailbox."""
    db = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    db.create_schema()
    with db.begin() as conn:
        create_mailbox(conn, f"mueller@{DOMAIN}", realname="Jürgen Müller", customer_ref="KD-2")
    db.dispose()
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "mailcenter.sqlite"}"\n')
    config.chmod(0o600)
    return config


def _run_bytes(world, *args: bytes | str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """The real command with raw bytes in argv and on stdin, as a Latin-1 terminal sends them."""
    command = [str(HELPDESK_BIN), "--config", str(world), *args]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    out = subprocess.run(command, input=stdin, capture_output=True, env=env, timeout=120)
    stdout = out.stdout.decode("utf-8")  # what we print is UTF-8, whatever came in
    stderr = out.stderr.decode("utf-8")
    assert "Traceback" not in stderr, stderr
    assert_clean(stdout, where="stdout")
    assert_clean(stderr, where="stderr")
    return out.returncode, stdout, stderr


def _audit_count(world) -> int:
    db = Database(f"sqlite:///{world.parent / 'mailcenter.sqlite'}")
    with db.connect() as conn:
        count = len(conn.execute(select(audit_log.c.id)).all())
    db.dispose()
    return count


def test_a_latin1_search_is_read_as_latin1_with_a_note(world):
    code, out, err = _run_bytes(world, "find", b"M\xfcller")
    assert code == 0, err
    assert "Jürgen Müller" in out and f"mueller@{DOMAIN}" in out
    assert err.count("\n") == 1 and "not UTF-8" in err and "Latin-1" in err and "Müller" in err


@pytest.mark.parametrize("option", ["--ticket", "--reason"])
def test_a_ticket_or_reason_that_is_not_utf8_is_refused(world, option):
    before = _audit_count(world)
    args = ["suspend", f"mueller@{DOMAIN}", "--ticket", "T-1", option, b"Kl\xe4rung"]
    code, out, err = _run_bytes(world, *args)
    assert code != 0 and out == ""
    assert err.startswith(f"helpdesk: {option} is not UTF-8") and err.count("\n") == 1
    assert _audit_count(world) == before


def test_an_address_that_is_not_utf8_is_one_line(world):
    code, out, err = _run_bytes(world, "show", b"m\xfcller@" + DOMAIN.encode())
    assert code != 0 and out == ""
    assert err.startswith("helpdesk: address is not UTF-8") and err.count("\n") == 1


def test_a_password_on_stdin_that_is_not_utf8_is_refused(world):
    before = _audit_count(world)
    args = ["passwd", f"mueller@{DOMAIN}", "--password-stdin", "--ticket", "T-1"]
    code, out, err = _run_bytes(world, *args, stdin=b"M\xfcller-Sonnenblume-Wasserkocher-17\n")
    assert code != 0 and out == ""
    assert (
        err == "helpdesk: --password-stdin: the password is not UTF-8 text; nothing was changed\n"
    )
    assert _audit_count(world) == before
