"""Rebuilding the search columns for mailboxes that another program wrote.

The hoster's own admin panel creates mailboxes without `search_name` and without rows in
`mailbox_name_words` or `mailbox_address_words`; this fills them from `realname` and
`address`.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, or_, select, update

from helpdesk.db import Database
from helpdesk.folding import name_words, search_name
from helpdesk.mailboxes import index_address
from helpdesk.schema import mailbox_address_words, mailbox_name_words, mailboxes

BATCH = 5000


def reindex_names(db: Database, *, only_missing: bool = True) -> int:
    """Index mailboxes lacking words (or all of them); returns how many."""
    done = 0
    last_id = 0
    while True:
        with db.begin() as conn:
            query = (
                select(mailboxes.c.id, mailboxes.c.realname, mailboxes.c.address)
                .where(mailboxes.c.id > last_id)
                .order_by(mailboxes.c.id)
                .limit(BATCH)
            )
            if only_missing:
                named = select(mailbox_name_words.c.mailbox_id).scalar_subquery()
                addressed = select(mailbox_address_words.c.mailbox_id).scalar_subquery()
                query = query.where(
                    or_(
                        (mailboxes.c.realname != "") & mailboxes.c.id.not_in(named),
                        mailboxes.c.id.not_in(addressed),
                    )
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
                index_address(conn, r.id, r.address)
                conn.execute(
                    update(mailboxes)
                    .where(mailboxes.c.id == r.id)
                    .values(search_name=search_name(r.realname))
                )
            done += len(rows)
            last_id = ids[-1]


def words_missing(db: Database) -> bool:
    """Cheap check for `db init`: mailboxes exist, but one of the word indexes is empty."""

    def empty(table) -> bool:
        with db.connect() as conn:
            return conn.execute(select(table.c.mailbox_id).limit(1)).first() is None

    with db.connect() as conn:
        has_mailboxes = conn.execute(select(mailboxes.c.id).limit(1)).first() is not None
    return has_mailboxes and (empty(mailbox_name_words) or empty(mailbox_address_words))
