"""A calm start: `. .stack/env` exports, the traffic round's summary goes to a file, `make demo`
says a few lines, and `make stack` builds the virtualenv it runs in first."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stack.settings import export_env, read_env, write_env
from stack.traffic import TAKEN_OVER, address, round_report
from stack.welcome import welcome_lines

ROOT = Path(__file__).resolve().parent.parent


def _sourced(env_file: Path) -> dict[str, str]:
    """The environment a child of a shell sees after `. env_file`."""
    out = subprocess.run(
        ["bash", "-c", f". {env_file} && env -0"],
        capture_output=True,
        text=True,
        timeout=10,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    return dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)


def test_sourcing_the_stacks_env_exports_it(stack):
    from stack.settings import Settings

    env_file = Settings.from_env().env_path
    seen = _sourced(env_file)
    assert seen["HELPDESK_CONFIG"] == stack.env["HELPDESK_CONFIG"]
    assert seen["DATABASE_URL"] == stack.env["DATABASE_URL"]


def test_the_line_to_copy_runs_the_cli_on_the_stack(stack):
    lines = welcome_lines(Path(".demo/helpdesk.toml"), stack=True, counts=None)
    [line] = [x for x in lines if ". .stack/env" in x]
    out = subprocess.run(
        ["bash", "-c", line.strip()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )
    # found or not found, but with the stack's config: no complaint about a missing one
    assert out.returncode in (0, 1), out.stderr
    assert "config" not in out.stderr


def test_an_env_file_of_an_older_launcher_is_rewritten_to_export(tmp_path):
    env_file = tmp_path / "env"
    values = {"HELPDESK_CONFIG": "/srv/a b/helpdesk.toml", "RSPAMD_PASSWORD": "it's $ecret"}
    env_file.write_text("HELPDESK_CONFIG='/srv/a b/helpdesk.toml'\nRSPAMD_PASSWORD='x $y'\n")
    assert "HELPDESK_CONFIG" not in _sourced(env_file)  # set, but not exported
    export_env(env_file)
    assert _sourced(env_file)["HELPDESK_CONFIG"] == "/srv/a b/helpdesk.toml"
    assert read_env(env_file) == {
        "HELPDESK_CONFIG": "/srv/a b/helpdesk.toml",
        "RSPAMD_PASSWORD": "x $y",
    }
    write_env(env_file, values)
    assert _sourced(env_file)["RSPAMD_PASSWORD"] == "it's $ecret"
    assert read_env(env_file) == values
    assert all(line.startswith("export ") for line in env_file.read_text().splitlines())


def test_the_traffic_round_writes_its_summary_to_the_file_and_says_two_lines(stack, tmp_path):
    """As `make demo` runs it. A stack that already had its round says so (quick); a fresh one
    gets one (about 10 s)."""
    output = tmp_path / "demo" / "traffic.txt"
    out = subprocess.run(
        [sys.executable, "-m", "stack.traffic", "--once-per-stack", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    said = (out.stdout + out.stderr).replace(str(output), "FILE").splitlines()
    assert 1 <= len(said) <= 3 and all(len(line) <= 100 for line in said), said
    assert "FILE" in said[-1]
    assert "{" not in out.stdout and address(TAKEN_OVER) not in out.stdout
    summary = json.loads(output.read_text())
    assert summary["users"][address(TAKEN_OVER)]["role"] == "taken-over"
    assert summary["totals"]["messages"] > 0
    # What a fresh round prints, for this real summary (the stack above may have had its round).
    fresh = round_report(summary, Path(".demo/traffic.txt"))
    assert len(fresh) == 2 and all(len(line) <= 100 for line in fresh), fresh
    assert f"{summary['totals']['messages']:,} messages" in fresh[0]
    assert fresh[1].endswith(".demo/traffic.txt") and address(TAKEN_OVER) not in "".join(fresh)


def test_what_make_demo_says_fits_a_terminal_and_names_the_offender_call():
    for stack in (True, False):
        lines = welcome_lines(Path(".demo/helpdesk.toml"), stack=stack, counts=(3000, 120))
        assert len(lines) <= 14 and all(len(line) <= 80 for line in lines), lines
        text = "\n".join(lines)
        assert "3,000 mailboxes on 120 domains" in text
        assert ".venv/bin" in text and "helpdesk" in text
    on_stack = " ".join(welcome_lines(Path(".demo/helpdesk.toml"), stack=True, counts=None))
    assert "F6" in on_stack and "by hand" in on_stack and "Ctrl+B" in on_stack
    assert address(TAKEN_OVER) not in on_stack  # the exercise stays an exercise
    watched = welcome_lines(Path(".demo/helpdesk.toml"), stack=True, counts=None, watch=True)
    assert all(len(line) <= 80 for line in watched), watched
    watched_text = " ".join(watched)
    assert "watcher suspended it" in watched_text and "by hand" not in watched_text
    assert address(TAKEN_OVER) not in watched_text


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_stack_builds_the_virtualenv_first_on_a_fresh_clone(tmp_path):
    """`make -n stack` in a copy without .venv: the venv is set up before the launcher runs."""
    (tmp_path / "stack").mkdir()
    for name in ("Makefile", "pyproject.toml", "setup.py", "stack/stack.mk"):
        shutil.copy(ROOT / name, tmp_path / name)
    out = subprocess.run(
        ["make", "-n", "stack"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    venv = next(i for i, line in enumerate(lines) if "python3 -m venv .venv" in line)
    install = next(i for i, line in enumerate(lines) if "pip install" in line and "-e" in line)
    launcher = next(i for i, line in enumerate(lines) if "stack.launcher up" in line)
    assert venv < install < launcher
