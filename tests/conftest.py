"""Fixtures shared by every test: throwaway databases on all three servers, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from helpdesk.mailcenter.db import Database

# The mail stack fixture lives in its own module; every stack test can use it.
pytest_plugins = (
    ["tests.stack_fixture"] if (Path(__file__).parent / "stack_fixture.py").exists() else []
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent
HELPDESK_BIN = Path(sys.executable).parent / "helpdesk"
PG_SERVER = os.environ.get("HELPDESK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
MY_SERVER = os.environ.get("HELPDESK_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
BACKENDS = ["sqlite", "postgresql", "mariadb"]

# Tests read English unless they choose German (--ui-language de, set_language("de")): the
# language of the machine running them must not decide what they see. LANGUAGE is read first.
os.environ["LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def _own_state_home(tmp_path_factory, monkeypatch) -> None:
    """The TUI remembers opened mailboxes under $XDG_STATE_HOME and the send-log review keeps
    its cache under $XDG_CACHE_HOME: never the real ones in tests (also for the processes
    they start, which inherit the environment)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.getbasetemp() / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def missing(reason: str) -> None:
    """A component that is not there: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(reason)


class _Server:
    """One database server on which tests create and drop their own databases."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.template: str | None = None
        admin_url = f"{PG_SERVER}/postgres" if kind == "postgresql" else f"{MY_SERVER}/"
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.error: str | None = None
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            self.error = f"{kind} server not reachable: {str(exc.orig).splitlines()[0]}"

    def url(self, name: str) -> str:
        base = PG_SERVER if self.kind == "postgresql" else MY_SERVER
        return f"{base}/{name}"

    def create(self) -> str:
        name = f"hd_test_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as conn:
            if self.kind == "postgresql":
                if self.template is None:
                    self.template = f"hd_tmpl_{uuid.uuid4().hex[:8]}"
                    conn.execute(text(f"CREATE DATABASE {self.template}"))
                    tmpl = Database(self.url(self.template))
                    tmpl.create_schema()
                    tmpl.dispose()
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.template}"))
            else:
                conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        return name

    def drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))

    def close(self) -> None:
        if self.template:
            self.drop(self.template)
        self.engine.dispose()


@pytest.fixture(scope="session")
def db_servers() -> Iterator[dict[str, _Server]]:
    servers = {kind: _Server(kind) for kind in ("postgresql", "mariadb")}
    yield servers
    for server in servers.values():
        if server.error is None:
            server.close()


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path, db_servers) -> Iterator[Database]:
    """An empty Mailcenter database with the schema, on each of the three servers."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
        database.create_schema()
        yield database
        database.dispose()
        return
    server = db_servers[request.param]
    if server.error:
        missing(server.error)
    name = server.create()
    database = Database(server.url(name))
    database.create_schema()
    try:
        yield database
    finally:
        database.dispose()
        server.drop(name)


@pytest.fixture
def config_file(db: Database, tmp_path: Path) -> Path:
    path = tmp_path / "helpdesk.toml"
    url = db.url.render_as_string(hide_password=False)
    path.write_text(f'[database]\nurl = "{url}"\n')
    path.chmod(0o600)
    return path


def run_cli(
    *args: str,
    config: Path | str | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real `helpdesk` console script, as scripts call it."""
    command = [str(HELPDESK_BIN)]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HELPDESK_CONFIG", None) if config is not None else None
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reads the marks
def pytest_collection_modifyitems(config, items) -> None:
    """`make test` runs two workers (--dist loadgroup): every test on the shared local stack, or
    on a second stack of its own (whose ports are the same for all of them), goes to one worker."""
    for item in items:
        if (
            "stack" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("stack")
            or "stack" in item.path.stem
        ):
            item.add_marker(pytest.mark.xdist_group("stack"))


def pytest_runtest_setup(item) -> None:
    """A pytest whose node ids pytest-xdist cannot tag spreads the stack's tests over both
    workers, where they change the stack under each other: each of them fails, saying why."""
    grouped = getattr(item.config.option, "loadgroup", False)
    if grouped and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist did not put this test into its group: use the pytest version "
            "pyproject.toml names",
            pytrace=False,
        )
