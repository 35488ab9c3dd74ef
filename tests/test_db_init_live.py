"""`helpdesk db init` on a SQLite database that Dovecot and Exim are reading.

Every schema change makes SQLite fail what other programs have prepared ("database schema has
changed"); Dovecot's user lookup and dict do not prepare again, so the mail delivered at that
moment is deferred. On a current database `db init` must therefore change nothing.
"""

from __future__ import annotations

import sqlite3

from tests.conftest import run_cli


def _schema(path) -> tuple[int, dict[str, str]]:
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        return version, dict(rows.fetchall())


def test_a_second_db_init_leaves_the_schema_as_it_is(tmp_path):
    path = tmp_path / "mailcenter.sqlite"
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{path}"\n')
    assert run_cli("db", "init", config=config).returncode == 0
    before = _schema(path)
    assert "changes_forwards_insert" in before[1]
    out = run_cli("db", "init", config=config)
    assert out.returncode == 0, out.stderr
    assert _schema(path) == before


def test_a_changed_or_missing_trigger_is_written_again(tmp_path):
    path = tmp_path / "mailcenter.sqlite"
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{path}"\n')
    assert run_cli("db", "init", config=config).returncode == 0
    _version, want = _schema(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER changes_forwards_insert")
        conn.execute("DROP TRIGGER changes_forwards_delete")
        conn.execute(
            "CREATE TRIGGER changes_forwards_delete AFTER DELETE ON forwards BEGIN SELECT 1; END"
        )
    assert run_cli("db", "init", config=config).returncode == 0
    assert _schema(path)[1] == want
