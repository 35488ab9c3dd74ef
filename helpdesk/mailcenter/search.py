"""Finding a mailbox from whatever the caller says: a name, an address, half of one, a domain,
a customer number. Every tier runs on an index (docs/schema.md, "Search"), never a full scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, false, func, literal_column, or_, select, text, union_all
from sqlalchemy.engine import Connection

from helpdesk.mailcenter.folding import PAIR_MARK, fold
from helpdesk.mailcenter.mailboxes import Mailbox, from_row, mailbox_query
from helpdesk.mailcenter.schema import (
    PART_SEPARATORS,
    mailbox_address_parts,
    mailbox_name_words,
    mailboxes,
)

# Substring tiers need three characters (a trigram; two letters start a part of almost every
# address); a shorter query only uses the prefix tiers.
MIN_SUBSTRING = 3
# Counting every match of "bau" in a million mailboxes costs as much as a scan; past this
# many, the total is reported as a lower bound ("1000+").
COUNT_CAP = 1000

# Letter frequencies (percent) in German and English text; a trigram of rare letters has a
# short doclist.
_LETTER_FREQUENCY = {
    **{ch: 1.0 for ch in "0123456789"},
    "e": 16.0,
    "n": 9.8,
    "i": 7.6,
    "s": 7.3,
    "r": 7.0,
    "a": 6.5,
    "t": 6.2,
    "d": 5.1,
    "h": 4.8,
    "u": 4.2,
    "l": 3.4,
    "c": 3.1,
    "g": 3.0,
    "m": 2.5,
    "o": 2.5,
    "b": 1.9,
    "w": 1.9,
    "f": 1.7,
    "k": 1.2,
    "z": 1.1,
    "p": 0.8,
    "v": 0.7,
    "j": 0.3,
    "y": 0.1,
    "x": 0.1,
    "q": 0.1,
}


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
    total_is_lower_bound: bool = False

    @property
    def total_text(self) -> str:
        return f"{self.total}+" if self.total_is_lower_bound else str(self.total)

    def as_json(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "total_is_lower_bound": self.total_is_lower_bound,
            "results": [h.as_json() for h in self.hits],
        }


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ordered(column, dialect: str):
    """The column as its prefix index orders it: byte order on PostgreSQL (mailcenter/db.py)."""
    return column.collate("C") if dialect == "postgresql" else column


def _prefix(column, value: str, dialect: str):
    if dialect == "sqlite":
        # A binary range instead of LIKE: SQLite only uses an index for LIKE on NOCASE columns.
        return (column >= value) & (column < value + "\U0010ffff")
    return _ordered(column, dialect).like(_like_escape(value) + "%", escape="\\")


def _fts_phrase(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _sample_trigrams(q: str, most: int = 2) -> list[str]:
    """The few trigrams of q that are likely rarest. FTS5 reads the whole doclist of every
    trigram it is given, and letters that are rare in German and English names make rare
    trigrams. The exact substring is checked afterwards on the candidates alone."""
    grams = list(dict.fromkeys(q[i : i + 3] for i in range(len(q) - 2)))

    def commonness(gram: str) -> float:
        return sum(_LETTER_FREQUENCY.get(ch, 0.5) for ch in gram)

    return sorted(grams, key=commonness)[:most]


def _part_ids(dialect: str, q: str) -> Select | None:
    """Ids whose address has a part (what follows a separator) starting with q, in the order
    of that part: a range scan of mailbox_address_parts that reads no mailbox row."""
    p = mailbox_address_parts.c
    if q[0] in PART_SEPARATORS:
        # ".de" or "@bau-koeln.de": the part after the separator, with that separator in front.
        rest = q[1:]
        if not rest:
            return None
        where = [_prefix(p.part, rest, dialect), p.lead == q[0]]
    else:
        where = [_prefix(p.part, q, dialect)]
    return select(p.mailbox_id).where(*where).order_by(_ordered(p.part, dialect), p.mailbox_id)


def _inside_word_ids(dialect: str, q: str) -> Select | None:
    """Ids whose address holds the single word q anywhere, inside a word too ("mueller" in
    "hansmueller@"): the trigram index, on SQLite and PostgreSQL. MariaDB has none."""
    if len(q) < MIN_SUBSTRING or not q.isalnum():
        return None
    if dialect == "sqlite":
        terms = " AND ".join(_fts_phrase(g) for g in _sample_trigrams(q))
        return (
            select(literal_column("rowid").label("id"))
            .select_from(text("mailbox_search"))
            .where(
                text("mailbox_search MATCH :m AND instr(address, :q) > 0").bindparams(
                    m=f"address : ({terms})", q=q
                )
            )
        )
    if dialect == "postgresql":
        # pg_trgm intersects the posting lists of every trigram in the pattern: give it the
        # rare ones alone, and check the whole string on what they find.
        return select(mailboxes.c.id).where(
            *(
                mailboxes.c.address.like("%" + _like_escape(g) + "%", escape="\\")
                for g in _sample_trigrams(q)
            ),
            func.strpos(mailboxes.c.address, q) > 0,
        )
    return None


# A multi-word query whose words are not side by side reads this many rows of each index
# of its rarest word; past that, its total is a lower bound.
WALK = 200
# Only the longest words of a query are read to find the rarest.
COUNTED_WORDS = 4
MAX_WORDS = 8
_ALL_WORDS = "all words"
# The other tiers arrive in the order of their own index (address, name word, local part,
# part, customer number), which is the order to show them in.
# The second half of "address contains", asked only when it could change what is shown.
_INSIDE_WORD = "inside a word"
_UNORDERED = {_INSIDE_WORD}
_ADDRESS_TIERS = {
    "exact address",
    "address prefix",
    "local part prefix",
    "address contains",
    _INSIDE_WORD,
}


def _name_ids(dialect: str, q: str, *, exact: bool) -> Select | None:
    """Ids whose folded real name has a word equal to (exact) or starting with the folded
    query, ordered by the matching word: a range scan of the word index (mailbox_name_words)."""
    words = fold(q).split()
    # Names hold no "@" and no digits: such a query is an address or a number, not a name.
    if not words or "@" in q or any(ch.isdigit() for ch in q):
        return None
    if len(words) == 1 and len(words[0]) < MIN_SUBSTRING - 1:
        return None
    w = mailbox_name_words.c
    if exact:
        # "Müller" before "Müllermeister": an exact word is one index lookup.
        if len(words) != 1:
            return None
        return select(w.mailbox_id).where(w.word == words[0]).order_by(w.mailbox_id)
    lead = max(words, key=len)
    query = select(w.mailbox_id).where(_prefix(w.word, lead, dialect))
    others = [word for word in words if word != lead]
    if others:
        # "o'brien" folds to two words: both must start a word of the name.
        query = query.join(mailboxes, mailboxes.c.id == w.mailbox_id).where(
            *(
                mailboxes.c.search_name.like("% " + _like_escape(o) + "%", escape="\\")
                for o in others
            )
        )
    return query.order_by(_ordered(w.word, dialect), w.mailbox_id)


def _is_name_word(word: str) -> bool:
    return bool(fold(word)) and "@" not in word and not any(ch.isdigit() for ch in word)


def _word_matches(word: str):
    """The row holds the word somewhere: at the start of a word of its folded name, or at the
    start of its address or of one of its address parts. Checked on fetched rows only."""
    c = mailboxes.c
    found = []
    if _is_name_word(word):
        found.append(c.search_name.like("% " + _like_escape(fold(word)) + "%", escape="\\"))
    if word.isascii():
        escaped = _like_escape(word)
        found.append(c.address.like(escaped + "%", escape="\\"))
        leads = [""] if word[0] in PART_SEPARATORS else list(PART_SEPARATORS)
        found.extend(
            c.address.like("%" + _like_escape(lead) + escaped + "%", escape="\\") for lead in leads
        )
    return or_(*found) if found else false()


def _word_sources(dialect: str, word: str) -> list[Select]:
    """The ids where one word of a query matches, each on its own index and in its order
    (name word, address start, address part); index entries only, no mailbox row."""
    c = mailboxes.c
    sources = []
    if _is_name_word(word):
        w = mailbox_name_words.c
        sources.append(
            select(w.mailbox_id)
            .where(_prefix(w.word, fold(word), dialect))
            .order_by(_ordered(w.word, dialect), w.mailbox_id)
        )
    if word.isascii():
        sources.append(
            select(c.id)
            .where(_prefix(c.address, word, dialect))
            .order_by(_ordered(c.address, dialect))
        )
        parts = _part_ids(dialect, word)
        if parts is not None:
            sources.append(parts)
    return sources


def _pair_tiers(dialect: str, words: list[str]) -> list[tuple[str, Select]]:
    """The first two words side by side, as a caller says a name ("jürgen franke", either
    order) or an address spells a firm ("mueller-sanitaer" for "sanitaer mueller"): one range
    each on the word index (its pair entries) and the address indexes, as long as the matches."""
    c, p, w = mailboxes.c, mailbox_address_parts.c, mailbox_name_words.c
    first, second = words[0], words[1]
    check = [_word_matches(o) for o in words[2:]]
    tiers = []
    if _is_name_word(first) and _is_name_word(second):
        pair = f"{PAIR_MARK}{fold(first)} {fold(second)}"
        names = select(w.mailbox_id).where(_prefix(w.word, pair, dialect))
        if check:
            names = names.join(mailboxes, c.id == w.mailbox_id).where(*check)
        tiers.append(("name", names.order_by(_ordered(w.word, dialect), w.mailbox_id)))
    if first.isascii() and second.isascii():
        spelled = [
            f"{a}{sep}{b}" for a, b in ((first, second), (second, first)) for sep in PART_SEPARATORS
        ]
        # One branch per spelling: an OR of ranges lets a planner walk the whole index in
        # the order of ORDER BY instead.
        starts = union_all(
            *(select(c.id).where(_prefix(c.address, x, dialect), *check) for x in spelled)
        )
        branches = [select(p.mailbox_id).where(_prefix(p.part, x, dialect)) for x in spelled]
        if check:
            branches = [b.join(mailboxes, c.id == p.mailbox_id).where(*check) for b in branches]
        parts = union_all(*branches)
        tiers += [(_ALL_WORDS, starts), (_ALL_WORDS, parts)]
    return tiers


def _walk(conn: Connection, dialect: str, words: list[str]) -> tuple[list[int], bool]:
    """Matches spread over name and address ("hans koeln", "mueller koeln"): the first WALK
    rows of each index of the rarest word, checked for the other words. Returns the ids and
    whether a source had more rows than were read (the total is then a lower bound)."""
    best: tuple[bool, int, list[int]] | None = None
    lead = ""
    # The rows read for each of the longest words tell which one is rarest: a word whose
    # indexes ran out before WALK rows is complete, and fewer rows are fewer to check.
    for word in sorted(words, key=len, reverse=True)[:COUNTED_WORDS]:
        ids: list[int] = []
        cut = False
        for source in _word_sources(dialect, word):
            read = conn.execute(source.limit(WALK)).scalars().all()
            cut = cut or len(read) == WALK
            ids.extend(read)
        ids = list(dict.fromkeys(ids))
        if best is None or (cut, len(ids)) < best[:2]:
            best, lead = (cut, len(ids), ids), word
    assert best is not None
    cut, _, ids = best
    others = [_word_matches(word) for word in words if word != lead]
    if not ids or not others:
        return ids, cut
    c = mailboxes.c
    keep = set(conn.execute(select(c.id).where(c.id.in_(ids), *others)).scalars())
    return [i for i in ids if i in keep], cut


def _name_has_all(realname: str, words: list[str]) -> bool:
    name = fold(realname).split()
    return all(any(part.startswith(fold(w)) for part in name) for w in words)


def find_mailboxes(conn: Connection, query: str, *, limit: int = 50) -> SearchResult:
    """Ranked: exact address, address prefix, real-name word (umlaut-insensitive; exact word
    before prefix), local-part prefix, address part, customer number; bounded, total known.
    Several words must all match, each in the address or the name.

    Each tier fetches at most COUNT_CAP + 1 ids on its own index, and the ranking happens
    here: given one query with ORDER BY and LIMIT over all tiers, a planner walks the address
    index in order and probes every row, which is a full scan in disguise.
    """
    raw = query.strip()
    q = raw.lower()
    if not q:
        return SearchResult(query=raw, total=0, hits=[])
    dialect = conn.dialect.name
    dialect = "mysql" if dialect == "mariadb" else dialect
    ref = raw.upper()
    c = mailboxes.c
    tiers: list[tuple[str, Select | None]] = [
        ("exact address", select(c.id).where(c.address == q)),
        (
            "address prefix",
            select(c.id)
            .where(_prefix(c.address, q, dialect))
            .order_by(_ordered(c.address, dialect)),
        ),
        ("name", _name_ids(dialect, raw, exact=True)),
        ("name", _name_ids(dialect, raw, exact=False)),
        (
            "local part prefix",
            select(c.id)
            .where(_prefix(c.local_part, q, dialect))
            .order_by(_ordered(c.local_part, dialect), c.id),
        ),
        ("address contains", _part_ids(dialect, q) if len(q) >= MIN_SUBSTRING else None),
        (_INSIDE_WORD, None),
        (
            "customer number",
            select(c.id)
            .where(_prefix(c.customer_ref, ref, dialect))
            .order_by(_ordered(c.customer_ref, dialect), c.id),
        ),
    ]
    if not q.isascii():
        # Addresses are stored in ASCII (international domains as punycode), so a query with
        # umlauts or accents is a name. MariaDB's collation would also read "çelik" as
        # "celik" and answer with addresses the caller did not say.
        tiers = [(name, sel) for name, sel in tiers if name not in _ADDRESS_TIERS]
    # A name and an address hold a handful of words; a pasted paragraph would build a
    # statement past what the databases parse.
    words = list(dict.fromkeys(q.split()))[:MAX_WORDS]
    if len(words) > 1:
        # No address holds a space: each word must match, in the address or the name.
        tiers = [*_pair_tiers(dialect, words), (_ALL_WORDS, None)]
    ranked: dict[int, str] = {}
    matched: set[int] = set()
    capped = False
    for name, sel in tiers:
        if capped and len(ranked) >= limit:
            # Past the cap with the page full, later tiers change neither the page nor the
            # total ("1000+"); reading their thousand ids is what would grow with the table.
            break
        if name == _INSIDE_WORD:
            sel = _inside_word_ids(dialect, q)
        if name == _ALL_WORDS and sel is None:
            ids, cut = _walk(conn, dialect, words)
            capped = capped or cut
            matched.update(ids)
            room = limit - len(ranked)
            for mailbox_id in [i for i in ids if i not in ranked][: max(room, 0)]:
                ranked[mailbox_id] = name
            continue
        if sel is None:
            continue
        rows = COUNT_CAP + 1
        fetched = conn.execute(sel.limit(rows)).scalars().all()
        # An address can hold the query in two parts ("mueller.hans@mueller-bau.de"): read on
        # until the cap is passed by distinct mailboxes, or the rows run out.
        while len(fetched) == rows and len(set(fetched)) <= COUNT_CAP and rows < 8 * COUNT_CAP:
            rows *= 2
            fetched = conn.execute(sel.limit(rows)).scalars().all()
        ids = list(dict.fromkeys(fetched))
        capped = capped or len(ids) > COUNT_CAP or len(fetched) == rows
        matched.update(ids)
        fresh = [i for i in ids if i not in ranked]
        room = limit - len(ranked)
        if room <= 0 or not fresh:
            continue
        if name in _UNORDERED:
            # Trigram and FULLTEXT matches come in no useful order: sort them by address.
            rows = conn.execute(select(c.id, c.address).where(c.id.in_(fresh))).all()
            fresh = [row.id for row in sorted(rows, key=lambda r: r.address)]
        for mailbox_id in fresh[:room]:
            ranked[mailbox_id] = "address contains" if name == _INSIDE_WORD else name
    found = {}
    if ranked:
        found = {
            row.id: from_row(row)
            for row in conn.execute(mailbox_query().where(c.id.in_(list(ranked))))
        }
    hits = [Hit(found[i], kind) for i, kind in ranked.items() if i in found]
    if len(words) > 1:
        # People whose name holds every word first ("jürgen franke"), then the rows where the
        # address holds some of them ("sanitaer mueller").
        hits = [
            Hit(h.mailbox, "name") if _name_has_all(h.mailbox.realname, words) else h for h in hits
        ]
        hits.sort(key=lambda h: h.match != "name")
    if capped:
        # "1000+": more than the cap, however far past it the tiers happened to read.
        return SearchResult(raw, min(COUNT_CAP, len(matched)), hits, total_is_lower_bound=True)
    return SearchResult(query=raw, total=len(matched), hits=hits)
