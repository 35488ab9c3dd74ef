"""The local stack keeps its secrets to itself: no file it writes with a password in it is
readable by other users, not even while it is being written, and `make stack-status` prints none.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from stack import launcher
from stack.settings import Settings, render, write_private
from tests.conftest import ROOT

URL = "postgresql+psycopg://helpdesk:Geheim%2F42@db.example:5432/mailcenter?sslpassword=Zweit"


def _modes_while_written(monkeypatch) -> list[int]:
    """The mode of every temporary file at the moment it is renamed into place."""
    seen: list[int] = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_a_private_file_replaces_a_readable_one_and_is_never_readable(tmp_path, monkeypatch):
    target = tmp_path / "env"
    target.write_text("old\n")
    target.chmod(0o644)
    seen = _modes_while_written(monkeypatch)
    opened: list[int] = []
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        opened.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    write_private(target, "RSPAMD_PASSWORD=secret\n")
    assert opened == [0o600], "the temporary file must be private before anything is in it"
    assert seen == [0o600]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "RSPAMD_PASSWORD=secret\n"
    assert [p.name for p in tmp_path.iterdir()] == ["env"]


def test_a_rendered_config_gets_its_mode_before_it_is_in_place(tmp_path, monkeypatch):
    template = tmp_path / "sql.conf.ext.in"
    template.write_text("connect = password=@PW@\n")
    target = tmp_path / "out" / "sql.conf.ext"
    seen = _modes_while_written(monkeypatch)
    render(template, target, {"PW": "secret"}, 0o600)
    render(template, target, {"PW": "secret"}, 0o640)
    assert seen == [0o600, 0o640]
    assert not stat.S_IMODE(target.stat().st_mode) & stat.S_IROTH


def test_the_fingerprint_holds_no_password_but_notices_a_new_one():
    settings = Settings.from_env({"DATABASE_URL": URL, "STACK_DIR": "/nonexistent"})
    fingerprint = launcher._fingerprint(settings, "sql")
    text = json.dumps(fingerprint)
    assert "Geheim" not in text and "Zweit" not in text
    other = Settings.from_env(
        {"DATABASE_URL": URL.replace("Geheim", "Anders"), "STACK_DIR": "/nonexistent"}
    )
    assert launcher._fingerprint(other, "sql") != fingerprint
    # One written by an older launcher (the URL whole) reads the same: no needless restart.
    old = {**fingerprint, "database_url": URL}
    del old["database"], old["database_digest"]
    assert launcher._without_secrets(old) == fingerprint


def test_the_running_stack_keeps_its_secrets(stack):
    secrets = [stack.password, stack.enable_password]
    for path in Path(stack.env["STACK_DIR"]).rglob("*"):
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 1_000_000:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(s.encode() in data for s in secrets):
            mode = stat.S_IMODE(path.stat().st_mode)
            assert not mode & stat.S_IROTH, f"{path} holds a password and is world-readable"
    out = subprocess.run(
        [sys.executable, "-m", "stack.launcher", "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert not any(s in out.stdout for s in secrets)
    assert "database" in json.loads(out.stdout)["fingerprint"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
