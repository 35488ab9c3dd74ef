"""The history of listings: one table in the Mailcenter database (docs/reputation.md).

It sits on the Mailcenter schema's MetaData, so `db init` creates it once this module is
imported; history.py also creates it on first use, for a database initialised before it existed.
"""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from helpdesk.mailcenter.schema import metadata

# One row per listing of one address on one list, from the first check that saw it to the first
# check that saw it gone (`cleared_at`; NULL while it lasts). Checks that got no definite answer
# (time-out, refused query) change nothing.
reputation_listings = Table(
    "reputation_listings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(45), nullable=False),
    # The list as configured (zen.spamhaus.org), never the DQS name that holds the key.
    Column("blocklist", String(255), nullable=False),
    Column("codes", String(255), nullable=False, default=""),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("cleared_at", DateTime, nullable=True),
    Index("ix_reputation_listings_open", "address", "blocklist", "cleared_at"),
    Index("ix_reputation_listings_first_seen", "first_seen"),
)
