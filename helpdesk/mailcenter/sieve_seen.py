"""The customer's personal Sieve scripts as the helpdesk last saw them, one row per mailbox and
script name: the sweep (helpdesk/sweep/rules.py) lists a script that is new or whose content or
activation changed since, and records it in `mailbox_changes` (docs/schema.md, "Seen Sieve
scripts"). Created by `db init` with the other tables.
"""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from helpdesk.mailcenter.schema import metadata

sieve_seen = Table(
    "sieve_seen",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    # The script file's modification time when the rules command gives it, else NULL.
    Column("modified_at", DateTime, nullable=True),
    # When the helpdesk first saw this content (the change's time when there is no mtime).
    Column("seen_at", DateTime, nullable=False),
    # The `redirect` targets found in the script, space-separated.
    Column("redirects", String(1000), nullable=False, default=""),
    # The mailbox_changes row that recorded this version.
    Column("change_id", Integer, nullable=True),
    UniqueConstraint("mailbox_id", "name", name="uq_sieve_seen_mailbox_name"),
)
