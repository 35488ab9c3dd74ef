"""Opening the Mailcenter database and creating its schema, search indexes included."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from helpdesk.config import is_secret_key, mask_secrets, url_secrets
from helpdesk.errors import ConfigError, HelpdeskError, Unreachable
from helpdesk.i18n import M, Text
from helpdesk.mailcenter.schema import ADDRESS, PART_SEPARATORS, add_later_columns, metadata
from helpdesk.mailcenter.sieve_seen import sieve_seen as _sieve_seen  # noqa: F401 (joins metadata)
from helpdesk.mailcenter.tickets import ticket_pattern, use_ticket_pattern

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
    # Byte order ("C"): LIKE 'prefix%' is a range on these, and the same index gives the
    # ORDER BY, so a one-letter query reads a thousand entries and stops. Under any other
    # collation the planner walks the whole unique index in order and filters.
    "DROP INDEX IF EXISTS ix_mailboxes_address_pattern",
    "DROP INDEX IF EXISTS ix_mailboxes_local_part_pattern",
    "DROP INDEX IF EXISTS ix_mailboxes_customer_ref_pattern",
    'CREATE INDEX IF NOT EXISTS ix_mailboxes_address_c ON mailboxes (address COLLATE "C")',
    "CREATE INDEX IF NOT EXISTS ix_mailboxes_local_part_c ON mailboxes "
    '(local_part COLLATE "C", id)',
    "CREATE INDEX IF NOT EXISTS ix_mailboxes_customer_ref_c ON mailboxes "
    '(customer_ref COLLATE "C", id)',
]

_SEPARATORS_SQL = ", ".join(f"'{ch}'" for ch in PART_SEPARATORS)


def _parts_of(address: str, length: str, source: str = "search_positions") -> str:
    """SELECT the (part, mailbox_id, lead) rows of one address expression: every suffix that
    starts after a separator."""
    return (
        f"SELECT substr({address}, n + 1), {{id}}, substr({address}, n, 1) FROM {source} "
        f"WHERE n < {length}({address}) AND substr({address}, n, 1) IN ({_SEPARATORS_SQL})"
    )


_INSERT_PARTS = "INSERT INTO mailbox_address_parts (part, mailbox_id, lead) "
# The parts of the row a trigger fires for; `length` counts bytes on MariaDB.
_NEW_PARTS = _INSERT_PARTS + _parts_of("NEW.address", "length").format(id="NEW.id")
_NEW_PARTS_MARIADB = _INSERT_PARTS + _parts_of("NEW.address", "char_length").format(id="NEW.id")
_SQLITE_PARTS = [
    "CREATE TRIGGER IF NOT EXISTS mailboxes_parts_ai AFTER INSERT ON mailboxes BEGIN "
    + _NEW_PARTS
    + "; END",
    "CREATE TRIGGER IF NOT EXISTS mailboxes_parts_au AFTER UPDATE OF address ON mailboxes BEGIN "
    "DELETE FROM mailbox_address_parts WHERE mailbox_id = OLD.id; " + _NEW_PARTS + "; END",
    # Another program may write with foreign keys off, and SQLite reuses a deleted row's id.
    "CREATE TRIGGER IF NOT EXISTS mailboxes_parts_ad AFTER DELETE ON mailboxes BEGIN "
    "DELETE FROM mailbox_address_parts WHERE mailbox_id = old.id; END",
]
_POSTGRES_PARTS = [
    "CREATE OR REPLACE FUNCTION mailbox_address_parts_sync() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' THEN DELETE FROM mailbox_address_parts WHERE mailbox_id = OLD.id; "
    "END IF; " + _NEW_PARTS + "; RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER mailboxes_address_parts AFTER INSERT OR UPDATE OF address "
    "ON mailboxes FOR EACH ROW EXECUTE FUNCTION mailbox_address_parts_sync()",
]
_MARIADB_PARTS = [
    "CREATE TRIGGER IF NOT EXISTS mailboxes_parts_ai AFTER INSERT ON mailboxes FOR EACH ROW "
    + _NEW_PARTS_MARIADB,
    "CREATE TRIGGER IF NOT EXISTS mailboxes_parts_au AFTER UPDATE ON mailboxes FOR EACH ROW "
    "BEGIN IF NOT (NEW.address <=> OLD.address) THEN "
    "DELETE FROM mailbox_address_parts WHERE mailbox_id = OLD.id; "
    + _NEW_PARTS_MARIADB
    + "; END IF; END",
]


def refill_address_parts(conn: Connection) -> None:
    """Rebuild mailbox_address_parts from every address in one statement."""
    length = "char_length" if conn.dialect.name in ("mysql", "mariadb") else "length"
    conn.execute(text("DELETE FROM mailbox_address_parts"))
    conn.execute(
        text(
            _INSERT_PARTS
            + _parts_of("m.address", length, "mailboxes m, search_positions").format(id="m.id")
        )
    )


class Database:
    """One Mailcenter database. Writes go through `begin()`: one transaction each."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = parse_url(url)
        # Everything said about this database is scrubbed of these, whatever quoted them.
        self._secrets = _secrets_of(url, self.url)
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
            raise ConfigError(
                M("[database] url: {reason}", reason=self._masked(_first_line(exc)))
            ) from None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise ConfigError(_refused_option(exc, self._masked)) from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        name = self.engine.dialect.name
        return "mysql" if name == "mariadb" else name

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, in the user info and in the query string
        (`?password=`): the only form that may be shown or logged."""
        query = {
            key: ("***" if is_secret_key(key) else value) for key, value in self.url.query.items()
        }
        shown = self.url.set(query=query).render_as_string(hide_password=True)
        return self._masked(shown.replace("=%2A%2A%2A", "=***"))

    def _masked(self, text: str) -> str:
        return mask_secrets(text, self._secrets)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._translate(), self._open() as conn, conn.begin():
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._translate(), self._open() as conn:
            yield conn

    def _open(self) -> Connection:
        try:
            return self.engine.connect()
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # The driver chokes on an option from the URL's query string
            # (`?connect_timeout=abc`, `?ssl=yes`) before it talks to the server.
            raise ConfigError(_refused_option(exc, self._masked)) from None

    def create_schema(self) -> None:
        with self.begin() as conn:
            metadata.create_all(conn)
            add_later_columns(conn)
            for statement in self._search_ddl(conn):
                conn.execute(text(statement))
            _fill_positions(conn)
            # Mailboxes from before the triggers existed (an older schema, another program).
            if _has_rows(conn, "mailboxes") and not _has_rows(conn, "mailbox_address_parts"):
                refill_address_parts(conn)

    def dispose(self) -> None:
        self.engine.dispose()

    def _search_ddl(self, conn: Connection) -> list[str]:
        if self.dialect == "sqlite":
            return _SQLITE_SEARCH + _SQLITE_PARTS
        if self.dialect == "postgresql":
            return _POSTGRES_SEARCH + _POSTGRES_PARTS
        if self.dialect == "mysql":
            existing = {
                row[2] for row in conn.execute(text("SHOW INDEX FROM mailboxes")).fetchall()
            }
            # Earlier versions searched addresses with FULLTEXT; the parts table replaced it.
            drop = ["ALTER TABLE mailboxes DROP INDEX ix_mailboxes_address_ft"]
            return (drop if "ix_mailboxes_address_ft" in existing else []) + _MARIADB_PARTS
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
                    M(
                        "cannot reach the database {url}: {reason}",
                        url=self.display_url,
                        reason=self._masked(_first_line(exc.orig)),
                    )
                ) from None
            raise HelpdeskError(
                M("database error: {reason}", reason=self._masked(_first_line(exc.orig)))
            ) from None
        except SQLAlchemyError as exc:
            raise HelpdeskError(
                M("database error: {reason}", reason=self._masked(_first_line(exc)))
            ) from None
        except UnicodeEncodeError:
            # Bytes that were not UTF-8 (kept by Python as lone surrogates) cannot be sent.
            raise HelpdeskError(
                M("database error: text that is not UTF-8 cannot be stored or looked up")
            ) from None


def _fill_positions(conn: Connection) -> None:
    have = conn.execute(text("SELECT count(*) FROM search_positions")).scalar_one()
    if have != ADDRESS:
        conn.execute(text("DELETE FROM search_positions"))
        conn.execute(
            text("INSERT INTO search_positions (n) VALUES (:n)"),
            [{"n": n} for n in range(1, ADDRESS + 1)],
        )


def _has_rows(conn: Connection, table: str) -> bool:
    return conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None


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


def _refused_option(exc: Exception, masked: Callable[[str], str]) -> Text:
    return M(
        "[database] url: the driver refuses an option in it ({error}: {reason})",
        error=type(exc).__name__,
        reason=masked(_first_line(exc)),
    )


def _first_line(exc: object) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def parse_url(url: str) -> URL:
    """The `[database] url`, checked: a malformed one is one ConfigError line that never
    repeats the URL (it may hold the password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            M(
                "[database] url is not a valid SQLAlchemy URL "
                "(dialect+driver://user:password@host:port/database)"
            )
        ) from None
    except ValueError:
        raise ConfigError(
            M("[database] url: the host or port cannot be read (the port must be a number)")
        ) from None
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ConfigError(
            M("[database] url: port {port} is out of range (1-65535)", port=str(parsed.port))
        )
    return parsed


def _secrets_of(raw: str, url: URL) -> list[str]:
    found = set(url_secrets(raw))
    if url.password:
        found.add(str(url.password))
    for key, value in url.query.items():
        if is_secret_key(key):
            found.update(v for v in ((value,) if isinstance(value, str) else value) if v)
    return sorted(found, key=len, reverse=True)


def open_database(config: Config) -> Database:
    # Every write of this process checks its ticket against this configuration's pattern.
    use_ticket_pattern(ticket_pattern(config))
    return Database(config.database_url)
