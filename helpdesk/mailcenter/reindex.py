"""Rebuilding the search columns for mailboxes that another program wrote.

The hoster's own admin panel creates mailboxes without `search_name` and without rows in
`mailbox_name_words`; this fills both from `realname`.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.folding import PAIR_MARK, name_words, search_name
from helpdesk.mailcenter.schema import mailbox_name_words, mailboxes

BATCH = 5000


def reindex_names(db: Database, *, only_missing: bool = True) -> int:
    """Index names of mailboxes lacking words (or all of them); returns how many."""
    done = 0
    last_id = 0
    while True:
        with db.begin() as conn:
            query = (
                select(mailboxes.c.id, mailboxes.c.realname)
                .where(mailboxes.c.id > last_id)
                .order_by(mailboxes.c.id)
                .limit(BATCH)
            )
            if only_missing:
                indexed = select(mailbox_name_words.c.mailbox_id)
                query = query.where(
                    mailboxes.c.realname != "", mailboxes.c.id.not_in(indexed.scalar_subquery())
                )
            rows = conn.execute(query).all()
            if not rows:
                return done
            ids = [r.id for r in rows]
            conn.execute(delete(mailbox_name_words).where(mailbox_name_words.c.mailbox_id.in_(ids)))
            words = [{"word": w, "mailbox_id": r.id} for r in rows for w in name_words(r.realname)]
            if words:
                conn.execute(insert(mailbox_name_words), words)
            for r in rows:
                conn.execute(
                    update(mailboxes)
                    .where(mailboxes.c.id == r.id)
                    .values(search_name=search_name(r.realname))
                )
            done += len(rows)
            last_id = ids[-1]


def pairs_missing(db: Database) -> bool:
    """Cheap check for `db init`: names of two or more words, but no neighbour pairs indexed.

    An index written before the pairs existed finds each word, but not "jürgen franke" as one
    range; the whole index is rebuilt once."""
    with db.connect() as conn:
        has_two_words = conn.execute(
            select(mailboxes.c.id).where(mailboxes.c.realname.like("% %")).limit(1)
        ).first()
        if not has_two_words:
            return False
        # Stops at the first pair; only an index without any reads it all (once, in db init).
        has_pairs = conn.execute(
            select(mailbox_name_words.c.word)
            .where(mailbox_name_words.c.word.like(f"{PAIR_MARK}%"))
            .limit(1)
        ).first()
    return not has_pairs


def words_missing(db: Database) -> bool:
    """Cheap check for `db init`: mailboxes with names, but an empty word index."""
    with db.connect() as conn:
        has_names = conn.execute(
            select(mailboxes.c.id).where(mailboxes.c.realname != "").limit(1)
        ).first()
        has_words = conn.execute(
            select(func.count()).select_from(select(mailbox_name_words.c.word).limit(1).subquery())
        ).scalar_one()
    return bool(has_names) and not has_words
