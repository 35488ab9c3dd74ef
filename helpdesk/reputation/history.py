"""Since when a listing is seen: each check updates the reputation_listings table.

A listing seen for the first time opens a row; seen again, its last_seen moves on; a definite
"not listed" closes it. A time-out or a refused query says nothing and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, insert, select, update

from helpdesk.reputation.codes import CLEAR, LISTED
from helpdesk.reputation.schema import reputation_listings as t

if TYPE_CHECKING:
    from datetime import datetime

    from helpdesk.mailcenter.db import Database
    from helpdesk.reputation.dnsbl import Check


def ensure_table(db: Database) -> None:
    """Create the table in a database initialised before it existed (needs the right to)."""
    with db.begin() as conn:
        t.create(conn, checkfirst=True)


def record(db: Database, check: Check) -> None:
    """Write what this check saw, and fill each listed answer's `since`: one transaction."""
    now = check.checked_at
    ensure_table(db)
    with db.begin() as conn:
        for answer in check.answers:
            if answer.state not in (LISTED, CLEAR):
                continue
            key = and_(
                t.c.address == answer.address,
                t.c.blocklist == answer.zone,
                t.c.cleared_at.is_(None),
            )
            row = conn.execute(select(t.c.id, t.c.first_seen).where(key).order_by(t.c.id)).first()
            if answer.state == CLEAR:
                if row is not None:
                    conn.execute(update(t).where(key).values(cleared_at=now))
                continue
            codes = ",".join(answer.codes)[:255]
            if row is None:
                conn.execute(
                    insert(t).values(
                        address=answer.address,
                        blocklist=answer.zone,
                        codes=codes,
                        first_seen=now,
                        last_seen=now,
                    )
                )
                answer.since = now
            else:
                conn.execute(update(t).where(t.c.id == row.id).values(last_seen=now, codes=codes))
                answer.since = row.first_seen


def open_listings(db: Database) -> list[tuple[str, str, str, datetime]]:
    """(address, blocklist, codes, first_seen) of every listing not yet seen gone."""
    ensure_table(db)
    with db.connect() as conn:
        rows = conn.execute(
            select(t.c.address, t.c.blocklist, t.c.codes, t.c.first_seen)
            .where(t.c.cleared_at.is_(None))
            .order_by(t.c.first_seen, t.c.address, t.c.blocklist)
        ).all()
    return [(r.address, r.blocklist, r.codes, r.first_seen) for r in rows]
