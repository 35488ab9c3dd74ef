"""Opening the Mailcenter database and creating its schema, search indexes included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from helpdesk.errors import ConfigError, HelpdeskError, Unreachable
from helpdesk.schema import metadata

if TYPE_CHECKING:
    from helpdesk.config import Config

# Search indexes that SQLAlchemy's portable DDL cannot express (docs/schema.md, "Search").
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS mailbox_search USING fts5("
    "address, content='mailboxes', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS mailboxes_search_ai AFTER INSERT ON mailboxes BEGIN "
    "INSERT INTO mailbox_search(rowid, address) VALUES (new.id, new.address); END",
    "CREATE TRIGGER IF NOT EXISTS mailboxes_search_ad AFTER DELETE ON mailboxes BEGIN "
    "INSERT INTO mailbox_search(mailbox_search, rowid, address) "
    "VALUES ('delete', old.id, old.address); END",
    "CREATE TRIGGER IF NOT EXISTS mailboxes_search_au AFTER UPDATE OF address ON mailboxes BEGIN "
    "INSERT INTO mailbox_search(mailbox_search, rowid, address) "
    "VALUES ('delete', old.id, old.address); "
    "INSERT INTO mailbox_search(rowid, address) VALUES (new.id, new.address); END",
]
_POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_mailboxes_address_trgm ON mailboxes "
    "USING gin (address gin_trgm_ops)",
    # The default collation ignores punctuation, so LIKE 'prefix%' needs pattern_ops.
    "CREATE INDEX IF NOT EXISTS ix_mailboxes_address_pattern ON mailboxes "
    "(address varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_mailboxes_local_part_pattern ON mailboxes "
    "(local_part varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_mailboxes_customer_ref_pattern ON mailboxes "
    "(customer_ref varchar_pattern_ops)",
]
_MARIADB_SEARCH = [
    "ALTER TABLE mailboxes ADD FULLTEXT INDEX ix_mailboxes_address_ft (address)",
]


class Database:
    """One Mailcenter database. Writes go through `begin()`: one transaction each."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            self.url = make_url(url)
        except ArgumentError:
            raise ConfigError("[database] url is not a valid SQLAlchemy URL") from None
        kwargs: dict = {"echo": echo, "pool_pre_ping": True}
        if self.url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 10}
        elif self.url.get_backend_name() in ("mysql", "mariadb"):
            kwargs["connect_args"] = {"connect_timeout": 5, "charset": "utf8mb4"}
        elif self.url.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 5}
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise ConfigError(f"[database] url: {exc}") from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        name = self.engine.dialect.name
        return "mysql" if name == "mariadb" else name

    @property
    def display_url(self) -> str:
        """The URL with its password hidden: the only form that may be shown or logged."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._translate(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._translate(), self.engine.connect() as conn:
            yield conn

    def create_schema(self) -> None:
        with self.begin() as conn:
            metadata.create_all(conn)
            for statement in self._search_ddl(conn):
                conn.execute(text(statement))

    def dispose(self) -> None:
        self.engine.dispose()

    def _search_ddl(self, conn: Connection) -> list[str]:
        if self.dialect == "sqlite":
            return _SQLITE_SEARCH
        if self.dialect == "postgresql":
            return _POSTGRES_SEARCH
        if self.dialect == "mysql":
            existing = {
                row[2] for row in conn.execute(text("SHOW INDEX FROM mailboxes")).fetchall()
            }
            return [s for s in _MARIADB_SEARCH if s.split()[6] not in existing]
        return []

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Driver errors become one line that names the database but never its password."""
        try:
            yield
        except HelpdeskError:
            raise
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_connect_error(exc):
                raise Unreachable(
                    f"cannot reach the database {self.display_url}: {_first_line(exc.orig)}"
                ) from None
            raise HelpdeskError(f"database error: {_first_line(exc.orig)}") from None
        except SQLAlchemyError as exc:
            raise HelpdeskError(f"database error: {_first_line(exc)}") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Exim reads the file as another user from a folder it cannot write: WAL would make its
    # lookups silently find nothing, so keep the rollback journal.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=DELETE")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _is_connect_error(exc: DBAPIError) -> bool:
    text_ = str(exc.orig).lower()
    return any(
        marker in text_
        for marker in (
            "connection refused",
            "could not connect",
            "can't connect",
            "unable to open database",
            "connection timed out",
            "unknown database",
            "does not exist",
            "access denied",
            "authentication failed",
            "lost connection",
            "server closed the connection",
        )
    )


def _first_line(exc: object) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def open_database(config: Config) -> Database:
    return Database(config.database_url)
