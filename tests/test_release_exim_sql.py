"""The release check of the stack's Exim (stack/exim/exim.conf.in), run by the real Exim against
each of the three databases: the one UPDATE that takes a use answers "taken" exactly `uses`
times, also for Exim processes running at the same moment; only for that account (any case of
the login) and that digest, while the release is confirmed, not revoked and not expired in UTC.

Production runs PostgreSQL or MariaDB; the shared stack runs SQLite. The lookup is the
template's own text (macros filled in as the stack does), expanded with `exim -be`, the login
given as Exim's $authenticated_id (`-oMai`), so what runs is what the DATA ACL runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.schema import outbound_releases
from stack.services import EXIM_DB_NOW, EXIM_DB_RETURNING
from stack.settings import TEMPLATES, parse_database_url
from tests.stack_fixture import _unavailable

DIGEST = "0123456789abcdef0123456789abcdef"
USER = "anna@firma.test"
# The ACL's condition around the lookup: taken when the lookup answers anything but 0.
_LOOKUP = re.compile(
    r"\$\{lookup @DB_KIND@,cache=no_rd\{UPDATE outbound_releases .*?\}\{\$value\}\{0\}\}",
    re.S,
)


def _lookup(kind: str) -> str:
    text = (TEMPLATES / "exim" / "exim.conf.in").read_text()
    joined = re.sub(r"\\\n\s*", "", text)  # Exim's continuation lines
    (found,) = _LOOKUP.findall(joined)
    return (
        found.replace("@DB_KIND@", kind)
        .replace("@DB_NOW@", EXIM_DB_NOW[kind])
        .replace("@DB_RETURNING@", EXIM_DB_RETURNING[kind])
    )


@pytest.fixture
def exim(db: Database, tmp_path: Path):
    """take(login, digest) -> whether Exim's lookup took a use."""
    if shutil.which("exim") is None:
        _unavailable("Exim is not installed (make stack-packages)")
    target = parse_database_url(db.url.render_as_string(hide_password=False))
    conf = tmp_path / "exim.conf"
    setting = {
        "sqlite": f"sqlite_dbfile = {target.path}",
        "pgsql": f"hide pgsql_servers = {target.exim_server()}",
        "mysql": f"hide mysql_servers = {target.exim_server()}",
    }[target.kind]
    (tmp_path / "spool").mkdir()
    conf.write_text(
        f"{setting}\nspool_directory = {tmp_path / 'spool'}\nlog_file_path = {tmp_path}/%slog\n"
    )
    expansion = _lookup(target.kind)

    def take(login: str = USER, digest: str = DIGEST) -> bool:
        out = subprocess.run(
            ["exim", "-C", str(conf), "-oMai", login, "-be"],
            input=expansion.replace("$acl_m_digest", digest) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        answer = out.stdout.split("\n")[0].removeprefix("> ").strip()
        assert answer and "failed" not in out.stderr, (out.stdout, out.stderr)
        return answer != "0"

    return take


def _release(db: Database, *, uses: int = 1, **cols) -> int:
    now = utcnow()
    values = {
        "address": USER,
        "message_id": "m1@firma.test",
        "created_at": now,
        "operator": "test",
        "ticket": "T-15",
        "expires_at": now + timedelta(hours=4),
        "state": "confirmed",
        "digest": DIGEST,
        "uses": uses,
        "uses_left": uses,
        **cols,
    }
    with db.begin() as conn:
        return conn.execute(insert(outbound_releases).values(**values)).inserted_primary_key[0]


def _row(db: Database, release_id: int):
    with db.connect() as conn:
        return conn.execute(
            select(outbound_releases).where(outbound_releases.c.id == release_id)
        ).one()


def test_one_use_is_taken_once(db, exim):
    before = utcnow().replace(microsecond=0)
    release_id = _release(db)
    assert exim()  # the copy Exim accepts
    assert not exim()  # the second one, at once
    row = _row(db, release_id)
    assert row.uses_left == 0
    # Written in UTC, as the helpdesk reads it (each database's own "now"; whole seconds here).
    assert before <= row.used_at <= utcnow() + timedelta(seconds=1)


def test_three_uses_are_three_passes_for_parallel_exim_processes(db, exim):
    release_id = _release(db, uses=3)
    # Eight Exim processes at once, two of them with the login in other cases.
    logins = [USER] * 6 + [USER.upper(), "Anna@Firma.Test"]
    with ThreadPoolExecutor(len(logins)) as pool:
        taken = list(pool.map(exim, logins))
    assert taken.count(True) == 3
    assert _row(db, release_id).uses_left == 0


def test_nothing_is_taken_for_another_account_content_or_a_release_not_in_force(db, exim):
    now = utcnow()
    release_id = _release(db)
    assert not exim("bernd@firma.test")
    assert not exim(USER, "f" * 32)
    assert not exim("x' OR address LIKE '%")  # quoted: a crafted login finds nothing
    assert _row(db, release_id).uses_left == 1  # none of them took the use
    # Expired a few minutes ago in UTC; revoked; not (yet) confirmed on every controller.
    _release(db, digest="a" * 32, expires_at=now - timedelta(minutes=5))
    _release(db, digest="b" * 32, revoked_at=now)
    _release(db, digest="c" * 32, state="pending")
    _release(db, digest="d" * 32, state="withdrawn")
    for digest in "abcd":
        assert not exim(USER, digest * 32), digest
    _release(db, digest="e" * 32, expires_at=now + timedelta(minutes=5))
    assert exim(USER, "e" * 32)  # ends in five minutes UTC: still in force
