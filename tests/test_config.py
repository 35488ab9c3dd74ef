"""Finding and reading the configuration; secrets from the environment or a file."""

from __future__ import annotations

import os

import pytest

from helpdesk.config import load_config
from helpdesk.errors import ConfigError
from tests.conftest import run_cli


def write(tmp_path, text, mode=0o600):
    path = tmp_path / "helpdesk.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_only_database_url_is_enough(tmp_path):
    config = load_config(write(tmp_path, '[database]\nurl = "sqlite:////srv/x.sqlite"\n'))
    assert config.database_url == "sqlite:////srv/x.sqlite"
    assert config.section("passwords") == {}


def test_relative_sqlite_path_is_beside_the_file(tmp_path):
    config = load_config(write(tmp_path, '[database]\nurl = "sqlite:///data/m.sqlite"\n'))
    assert config.database_url == f"sqlite:///{tmp_path}/data/m.sqlite"


def test_search_order_env_then_local(tmp_path, monkeypatch):
    path = write(tmp_path, '[database]\nurl = "sqlite:///a"\n')
    monkeypatch.setenv("HELPDESK_CONFIG", str(path))
    assert load_config().path == path
    monkeypatch.delenv("HELPDESK_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert load_config().path.name == "helpdesk.toml"


def test_secret_from_env_and_file(tmp_path, monkeypatch):
    secret_file = tmp_path / "db.url"
    secret_file.write_text("postgresql+psycopg://u:pw@h/db\n")
    path = write(tmp_path, f'[database]\nurl_file = "{secret_file}"\n')
    assert load_config(path).database_url == "postgresql+psycopg://u:pw@h/db"
    path = write(tmp_path, '[database]\nurl_env = "MY_DB_URL"\n')
    monkeypatch.setenv("MY_DB_URL", "sqlite:////srv/env.sqlite")
    assert load_config(path).database_url == "sqlite:////srv/env.sqlite"
    monkeypatch.delenv("MY_DB_URL")
    with pytest.raises(ConfigError, match=r"url_env names \$MY_DB_URL, which is not set"):
        _ = load_config(path).database_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[database\nurl = 1", "not valid TOML"),
        ("[other]\nx = 1\n", "[database] url is not set"),
        ('[database]\nurl = "nonsense"\n', "not a valid SQLAlchemy URL"),
    ],
)
def test_broken_config_is_one_line_naming_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    out = run_cli("find", "x", config=path)
    assert out.returncode != 0
    assert expected in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


def test_missing_config_file(tmp_path):
    out = run_cli("find", "x", config=tmp_path / "nope.toml")
    assert out.returncode == 2
    assert out.stderr == f"helpdesk: {tmp_path / 'nope.toml'}: configuration file not found\n"


def test_world_readable_secret_warns(tmp_path):
    path = write(tmp_path, '[database]\nurl = "postgresql+psycopg://u:pw@127.0.0.1:1/x"\n', 0o644)
    out = run_cli("find", "x", config=path)
    assert "readable by other users" in out.stderr
    assert "pw@" not in out.stderr
    os.chmod(path, 0o600)
    assert "readable by other users" not in run_cli("find", "x", config=path).stderr
