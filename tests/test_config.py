"""Finding and reading the configuration; secrets from the environment or a file."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpdesk.config import load_config
from helpdesk.errors import ConfigError
from tests.conftest import HELPDESK_BIN, run_cli


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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://u:pw@127.0.0.1:abc/x", "the port must be a number"),
        ("postgresql+psycopg://u:pw@127.0.0.1:/x", "the port must be a number"),
        ("postgresql+psycopg://u:pw@[::1/x", "the host or port cannot be read"),
        ("postgresql+psycopg://u:pw@127.0.0.1:99999/x", "port 99999 is out of range"),
        ("mysql+pymysql://u:pw@127.0.0.1:0/x", "port 0 is out of range"),
        ("nosuchdb://u:pw@127.0.0.1/x", "[database] url"),
        ("mysql+pymysql://u:pw@127.0.0.1:3306/x?connect_timeout=abc", "refuses an option"),
        ("mysql+pymysql://u:pw@127.0.0.1:3306/x?ssl=yes", "refuses an option"),
    ],
    ids=["letters", "empty", "bracket", "too-big", "zero", "dialect", "option", "ssl-option"],
)
def test_malformed_database_url_is_one_line_without_the_password(tmp_path, url, expected):
    out = run_cli("find", "x", config=write(tmp_path, f'[database]\nurl = "{url}"\n'))
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("helpdesk: ") and out.stderr.count("\n") == 1
    assert expected in out.stderr and "Traceback" not in out.stderr
    assert ":pw@" not in out.stderr


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (
            "postgresql+psycopg://nobody@127.0.0.1:1/x?password=hunter2%21s&sslmode=disable",
            "password",
        ),
        (
            "postgresql+psycopg://nobody@127.0.0.1:1/x?sslmode=disable&sslpassword=hunter2",
            "sslpassword",
        ),
        ("mysql+pymysql://nobody@127.0.0.1:1/x?passwd=hunter2&charset=utf8mb4", "passwd"),
    ],
    ids=["password", "sslpassword", "passwd"],
)
def test_a_password_in_the_query_string_is_masked(tmp_path, url, key):
    out = run_cli("find", "x", config=write(tmp_path, f'[database]\nurl = "{url}"\n'))
    assert out.returncode != 0 and "cannot reach the database" in out.stderr, out.stderr
    assert f"{key}=***" in out.stderr
    assert "hunter2" not in out.stderr
    # The TUI header shows display_url.
    from helpdesk.mailcenter.db import Database

    shown = Database(url).display_url
    assert f"{key}=***" in shown and "hunter2" not in shown
    assert "sslmode=disable" in shown or "charset=utf8mb4" in shown


# PostgreSQL only: it connects with the password in the query string (trust ignores it).
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_json_shows_the_database_without_its_query_password(db, tmp_path):
    url = db.url.render_as_string(hide_password=False) + "?password=hunter2"
    out = run_cli("db", "init", "--json", config=write(tmp_path, f'[database]\nurl = "{url}"\n'))
    assert out.returncode == 0, out.stderr
    assert "hunter2" not in out.stdout
    assert json.loads(out.stdout)["database"].endswith("?password=***")


@pytest.mark.parametrize(
    "text",
    [
        '[database]\nurl = "postgresql+psycopg://u@127.0.0.1:1/x?password=pw"\n',
        '[database]\nurl = "postgresql+psycopg://u@127.0.0.1:1/x?sslpassword=pw"\n',
        '[database]\nurl = "sqlite:///x"\n[mail]\napi_token = "t0ken"\n',
        '[database]\nurl = "sqlite:///x"\n[rspamd]\ncontrollers = [{ url = "http://a", '
        'password = "pw" }]\n',
        '[database]\nurl = "sqlite:///x"\n[ldap]\nbind_secret = "s"\n',
    ],
    ids=["query-password", "query-sslpassword", "token", "controller", "secret"],
)
def test_any_secret_in_a_readable_config_warns(tmp_path, text):
    path = write(tmp_path, text, 0o644)
    out = run_cli("find", "x", config=path)
    assert "readable by other users" in out.stderr
    assert "pw" not in out.stderr.replace("password", "")


def test_secret_files_and_variables_are_no_secret_in_the_config(tmp_path):
    path = write(
        tmp_path,
        '[database]\nurl_env = "DB"\n[rspamd]\ncontrollers = [{ url = "http://a", '
        'password_file = "/etc/helpdesk/rspamd" }]\n',
        0o644,
    )
    out = run_cli("find", "x", config=path, env={"DB": "sqlite:////nonexistent/x"})
    assert "readable by other users" not in out.stderr


def test_an_unreadable_home_is_no_traceback(tmp_path):
    """Under `sudo -u helpdesk` HOME may stay /root: its config folder cannot even be looked at."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    home = Path(tempfile.mkdtemp(prefix="helpdesk-home-", dir="/tmp"))
    work = Path(tempfile.mkdtemp(prefix="helpdesk-cwd-", dir="/tmp"))
    try:
        (home / ".config" / "helpdesk").mkdir(parents=True)
        home.chmod(0o700)
        work.chmod(0o755)
        nobody = pwd.getpwnam("nobody")
        env = {
            k: v for k, v in os.environ.items() if k not in ("HELPDESK_CONFIG", "XDG_CONFIG_HOME")
        }
        result = subprocess.run(
            [
                shutil.which("setpriv"),
                f"--reuid={nobody.pw_uid}",
                f"--regid={nobody.pw_gid}",
                "--clear-groups",
                str(HELPDESK_BIN),
                "find",
                "x",
            ],
            cwd=work,
            env={**env, "HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        home.chmod(0o755)
        shutil.rmtree(home)
        shutil.rmtree(work)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
