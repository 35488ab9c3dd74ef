"""Finding a mailbox from whatever the caller says: a name, an address, half of one, a domain,
a customer number. Every tier runs on an index (docs/schema.md, "Search"), never a full scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, literal_column, select, text, union
from sqlalchemy.engine import Connection

from helpdesk.folding import fold
from helpdesk.mailboxes import Mailbox, from_row, mailbox_query
from helpdesk.schema import mailboxes

# Trigram indexes need three characters; a shorter query only uses the prefix tiers.
MIN_SUBSTRING = 3

TIERS = (
    "exact address",
    "address prefix",
    "local part prefix",
    "address contains",
    "name",
    "customer number",
)


@dataclass(frozen=True)
class Hit:
    mailbox: Mailbox
    match: str

    def as_json(self) -> dict:
        return {**self.mailbox.as_json(), "match": self.match}


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    hits: list[Hit]

    def as_json(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "results": [h.as_json() for h in self.hits],
        }


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(column, value: str, dialect: str):
    if dialect == "sqlite":
        # A binary range instead of LIKE: SQLite only uses an index for LIKE on NOCASE columns.
        return (column >= value) & (column < value + "\U0010ffff")
    return column.like(_like_escape(value) + "%", escape="\\")


def _fts_phrase(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _mysql_words(value: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in value).split() if len(w) >= 3]
    return " ".join(f"+{w}*" for w in words)


def _substring_ids(dialect: str, q: str) -> Select | None:
    """Ids whose address contains q."""
    if len(q) < MIN_SUBSTRING:
        return None
    if dialect == "sqlite":
        return (
            select(literal_column("rowid").label("id"))
            .select_from(text("mailbox_search"))
            .where(text("mailbox_search MATCH :m").bindparams(m="address : " + _fts_phrase(q)))
        )
    if dialect == "postgresql":
        return select(mailboxes.c.id).where(
            mailboxes.c.address.like("%" + _like_escape(q) + "%", escape="\\")
        )
    words = _mysql_words(q)
    if not words:
        return None
    # MariaDB has no trigram index: FULLTEXT finds words of the address by prefix (docs/schema.md).
    return select(mailboxes.c.id).where(
        text("MATCH (mailboxes.address) AGAINST (:w IN BOOLEAN MODE)").bindparams(w=words)
    )


def _name_ids(dialect: str, q: str) -> Select | None:
    """Ids whose folded real name has a word starting with the folded query."""
    folded = fold(q)
    if len(folded) < MIN_SUBSTRING - 1:
        return None
    pattern = " " + folded
    if dialect == "sqlite":
        return (
            select(literal_column("rowid").label("id"))
            .select_from(text("mailbox_search"))
            .where(
                text("mailbox_search MATCH :n").bindparams(
                    n="search_name : " + _fts_phrase(pattern)
                )
            )
        )
    if dialect == "postgresql":
        return select(mailboxes.c.id).where(
            mailboxes.c.search_name.like("%" + _like_escape(pattern) + "%", escape="\\")
        )
    words = _mysql_words(folded)
    if not words:
        return None
    return select(mailboxes.c.id).where(
        text("MATCH (mailboxes.search_name) AGAINST (:n IN BOOLEAN MODE)").bindparams(n=words)
    )


def find_mailboxes(conn: Connection, query: str, *, limit: int = 50) -> SearchResult:
    """Ranked: exact address, address prefix, local-part prefix, address substring,
    real-name word prefix (umlaut-insensitive), customer number; bounded, total known."""
    raw = query.strip()
    q = raw.lower()
    if not q:
        return SearchResult(query=raw, total=0, hits=[])
    dialect = conn.dialect.name
    dialect = "mysql" if dialect == "mariadb" else dialect
    ref = raw.upper()

    tiers: list[tuple[str, Select | None]] = [
        ("exact address", select(mailboxes.c.id).where(mailboxes.c.address == q)),
        ("address prefix", select(mailboxes.c.id).where(_prefix(mailboxes.c.address, q, dialect))),
        (
            "local part prefix",
            select(mailboxes.c.id).where(_prefix(mailboxes.c.local_part, q, dialect)),
        ),
        ("address contains", _substring_ids(dialect, q)),
        ("name", _name_ids(dialect, raw)),
        (
            "customer number",
            select(mailboxes.c.id).where(_prefix(mailboxes.c.customer_ref, ref, dialect)),
        ),
    ]
    live = [(name, sel) for name, sel in tiers if sel is not None]

    seen: dict[int, str] = {}
    hits_cache: dict[int, Mailbox] = {}
    for name, sel in live:
        if len(seen) >= limit:
            break
        ids_sel = sel.subquery()
        rows = conn.execute(
            mailbox_query()
            .where(mailboxes.c.id.in_(select(ids_sel.c.id)))
            .order_by(mailboxes.c.address)
            .limit(limit + len(seen))
        )
        for row in rows:
            if row.id not in seen and len(seen) < limit:
                seen[row.id] = name
                hits_cache[row.id] = from_row(row)
    total = conn.execute(
        select(func.count()).select_from(union(*(sel for _, sel in live)).subquery())
    ).scalar_one()
    hits = [Hit(hits_cache.pop(mid), kind) for mid, kind in seen.items()]
    return SearchResult(query=raw, total=max(total, len(hits)), hits=hits)
