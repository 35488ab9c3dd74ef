"""`db init` writes the global sending limit from `[limits]` once, and only when it names one."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def _config(tmp_path, extra: str = ""):
    path = tmp_path / "helpdesk.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "mc.sqlite"}"\n{extra}')
    return path


def _global(config) -> dict:
    out = run_cli("limits", "show", "global", "--json", config=config)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["own"]


def test_a_limit_in_the_config_becomes_the_global_row_once(tmp_path):
    config = _config(tmp_path, "[limits]\nmessages_per_hour = 50\n")
    assert run_cli("db", "init", config=config).returncode == 0
    assert _global(config)["messages_per_hour"] == 50
    # An operator's later change is not overwritten by the next `db init`.
    done = run_cli("limits", "set", "global", "--messages", "70", "--ticket", "T-1", config=config)
    assert done.returncode == 0, done.stderr
    assert run_cli("db", "init", config=config).returncode == 0
    assert _global(config)["messages_per_hour"] == 70


def test_without_a_limit_in_the_config_nobody_is_limited(tmp_path):
    config = _config(tmp_path)
    assert run_cli("db", "init", config=config).returncode == 0
    assert _global(config).get("messages_per_hour") is None
