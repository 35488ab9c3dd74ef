"""The release map on every controller: its text, its generation, and how it is pushed.

A push runs under the push lock (one per database, never a database write lock: `suspend`
and `passwd` go on while a controller hangs). It reads every controller's current map,
takes a generation above the database's counter and above every generation a controller
holds, builds the text from the database in one short transaction, and saves it where the
lines differ. A save that failed or timed out is checked by reading the map back: a
controller that applied it but answered late holds the new generation. The result says,
per controller, which lines are there now, or that this is unknown (docs/rspamd.md).
"""

from __future__ import annotations

import fcntl
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M, Text
from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.schema import outbound_release_map
from helpdesk.rspamd.client import Controller, MapInfo, RspamdError

MAP_HEADER = "# helpdesk outbound releases: rebuilt from the database, do not edit by hand"
_GENERATION = re.compile(r"^# generation (\d{1,18})\s*$", re.MULTILINE)


def map_text(lines: Iterable[str], generation: int | None = None) -> str:
    head = [MAP_HEADER] + ([f"# generation {generation}"] if generation is not None else [])
    return "\n".join([*head, *sorted(set(lines))]) + "\n"


def generation_of(text: str) -> int:
    """The generation a map carries; 0 for a map without one (hand-made, or older)."""
    found = _GENERATION.search(text)
    return int(found.group(1)) if found else 0


def lines_of(text: str) -> frozenset[str]:
    """The entries of a map as rspamd matches them (case ignored, comments dropped)."""
    out = set()
    for raw in text.splitlines():
        entry = raw.split("#", 1)[0].strip()
        if entry:
            out.add(entry.casefold())
    return frozenset(out)


# --------------------------------------------------------------------------- the push lock


class LockBusy(HelpdeskError):
    """Another command is pushing the release map and did not finish in time."""


_process_lock = threading.Lock()


@contextmanager
def push_lock(db: Database, wait: float) -> Iterator[None]:
    """Held while a map is built and pushed, so pushes never overlap.

    PostgreSQL and MariaDB: a session-level advisory lock (it blocks no table); SQLite: an
    flock on a file beside the database. None of them stops another writer of the database.
    """
    dialect = db.dialect
    if dialect == "sqlite":
        with _file_lock(db, wait):
            yield
        return
    ends = time.monotonic() + wait
    with db.engine.connect() as conn:
        try:
            _advisory(conn, dialect, ends)
        except SQLAlchemyError as exc:
            raise HelpdeskError(
                M("database error while taking the release lock: {error}", error=str(exc))
            ) from None
        try:
            yield
        finally:
            try:
                _unadvisory(conn, dialect)
            except SQLAlchemyError:
                # The lock belongs to the session: ending the session frees it.
                conn.invalidate()


def _lock_name(conn: Connection) -> str:
    name = conn.exec_driver_sql("SELECT DATABASE()").scalar() or ""
    return f"helpdesk_release_map.{name}"[:64]


# PostgreSQL's advisory locks are per database; any fixed key will do.
_PG_KEY = 0x68656C70


def _advisory(conn: Connection, dialect: str, ends: float) -> None:
    while True:
        if dialect == "postgresql":
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar()
        else:
            got = conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": _lock_name(conn)}).scalar()
        # The lock is the session's: end the implicit transaction, keep the lock.
        conn.commit()
        if got:
            return
        if time.monotonic() >= ends:
            raise LockBusy(_busy(ends))
        time.sleep(0.05)


def _unadvisory(conn: Connection, dialect: str) -> None:
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
    else:
        conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": _lock_name(conn)})
    conn.commit()


@contextmanager
def _file_lock(db: Database, wait: float) -> Iterator[None]:
    path = db.url.database or ""
    if path in ("", ":memory:") or path.startswith("file:"):
        if not _process_lock.acquire(timeout=wait):
            raise LockBusy(_busy(time.monotonic()))
        try:
            yield
        finally:
            _process_lock.release()
        return
    lock_path = Path(path).with_name(Path(path).name + "-release.lock")
    try:
        handle = open(lock_path, "a+b")  # noqa: SIM115 - held until the push ends
    except OSError as exc:
        raise HelpdeskError(
            M(
                "cannot open the release lock {path}: {error}",
                path=str(lock_path),
                error=exc.strerror or "",
            )
        ) from None
    ends = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= ends:
                    raise LockBusy(_busy(ends)) from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()  # closing the descriptor drops the flock


def _busy(_ends: float) -> Text:
    return M("another helpdesk command is still saving the release map on rspamd; try again")


# --------------------------------------------------------------------------- one push


@dataclass
class NodeResult:
    name: str
    ok: bool  # holds this push's generation (or the same lines)
    lines: frozenset[str] | None  # what it holds now; None: unknown
    error: str | Text = ""  # a message id: rendered in the language of whoever shows it
    attempted: bool = False  # this push sent it a map (which it may hold, answer or not)


@dataclass
class PushResult:
    generation: int
    wanted: frozenset[str]
    nodes: list[NodeResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.nodes)

    @property
    def errors(self) -> list[str | Text]:
        return [n.error for n in self.nodes if n.error]

    def absent_everywhere(self, line: str) -> bool:
        key = line.casefold()
        return all(n.lines is not None and key not in n.lines for n in self.nodes)

    def failed_names(self) -> list[str]:
        return [n.name for n in self.nodes if not n.ok]


def allocate(conn: Connection, at_least: int) -> int:
    """The next generation, above `at_least`; the UPDATE makes builds strictly ordered."""
    row = conn.execute(
        select(outbound_release_map.c.generation).where(outbound_release_map.c.id == 1)
    ).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(outbound_release_map).values(id=1, generation=0, saved_at=utcnow())
                )
        except IntegrityError:
            pass
        current = 0
    else:
        current = row.generation
    generation = max(current, at_least) + 1
    conn.execute(
        update(outbound_release_map)
        .where(outbound_release_map.c.id == 1)
        .values(generation=generation, saved_at=utcnow())
    )
    return generation


def push(
    db: Database,
    targets: list[tuple[Controller, MapInfo]],
    build: Callable[[Connection], Iterable[str]],
) -> PushResult:
    """Build the map from the database and bring every controller to it; call under the lock."""
    current: dict[str, tuple[int, frozenset[str]] | str | Text] = {}
    for controller, info in targets:
        try:
            held = controller.getmap(info.id)
            current[controller.name] = (generation_of(held), lines_of(held))
        except RspamdError as exc:
            current[controller.name] = exc.message
    newest = max((c[0] for c in current.values() if isinstance(c, tuple)), default=0)
    with db.begin() as conn:
        generation = allocate(conn, newest)
        lines = sorted(set(build(conn)))
    wanted = frozenset(line.casefold() for line in lines)
    body = map_text(lines, generation)
    result = PushResult(generation, wanted)
    for controller, info in targets:
        seen = current[controller.name]
        if not isinstance(seen, tuple):
            # Never saved blind: without its generation a newer map there could be replaced.
            result.nodes.append(NodeResult(controller.name, False, None, seen))
            continue
        if seen[1] == wanted:
            result.nodes.append(NodeResult(controller.name, True, wanted))
            continue
        result.nodes.append(_save(controller, info, body, generation))
    return result


def _save(controller: Controller, info: MapInfo, body: str, generation: int) -> NodeResult:
    try:
        controller.savemap(info.id, body)
        return NodeResult(controller.name, True, lines_of(body), attempted=True)
    except RspamdError as exc:
        error = exc.message
    # A refused save changed nothing; a late or lost answer may have changed everything.
    try:
        held = controller.getmap(info.id)
    except RspamdError:
        return NodeResult(controller.name, False, None, error, attempted=True)
    if generation_of(held) == generation:
        return NodeResult(controller.name, True, lines_of(held), attempted=True)
    return NodeResult(controller.name, False, lines_of(held), error, attempted=True)
