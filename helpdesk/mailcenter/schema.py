"""The Mailcenter database: one SQLAlchemy Core schema for SQLite, PostgreSQL and MariaDB.

Table and column names of `domains`, `mailboxes` and `audit_log` are read by Dovecot, Exim and
other programs (docs/schema.md): they stay. Times are naive UTC everywhere.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# 320 = 64 (local part) + 1 + 255 (domain), the longest address SMTP allows.
ADDRESS = 320

domains = Table(
    "domains",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=True),
)

mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("local_part", String(64), nullable=False),
    Column("address", String(ADDRESS), nullable=False, unique=True),
    Column("realname", String(255), nullable=False, default=""),
    Column("password_hash", String(255), nullable=False, default=""),
    Column("password_changed_at", DateTime, nullable=True),
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("smtp_enabled", Boolean, nullable=False, default=True),
    Column("quota_mb", Integer, nullable=False, default=1024),
    Column("customer_ref", String(32), nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime, nullable=True),
    # The real name folded for search (lowercase, umlauts and accents folded, a leading space so
    # that "word prefix" is a plain substring match): kept by the code that writes realname.
    Column("search_name", String(300), nullable=False, default=""),
    Index("ix_mailboxes_local_part", "local_part"),
    Index("ix_mailboxes_domain_id", "domain_id"),
    Index("ix_mailboxes_customer_ref", "customer_ref"),
    Index("ix_mailboxes_password_changed_at", "password_changed_at"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False),
    Column("address", String(ADDRESS), nullable=False),
    Column("target", String(ADDRESS), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    UniqueConstraint("address", "target", name="uq_aliases_address_target"),
    Index("ix_aliases_target", "target"),
)

forwards = Table(
    "forwards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id"), nullable=False),
    Column("target", String(ADDRESS), nullable=False),
    Column("keep_copy", Boolean, nullable=False, default=True),
    Column("starts_at", DateTime, nullable=True),
    Column("ends_at", DateTime, nullable=True),
    Index("ix_forwards_mailbox_id", "mailbox_id"),
)

# Every word of each mailbox's folded real name: the real-name search is a range scan on
# (word, mailbox_id), the same cost at 3,000 and at a million mailboxes. Kept by the code that
# writes realname (helpdesk/mailcenter/mailboxes.py, helpdesk/mailcenter/demo.py).
mailbox_name_words = Table(
    "mailbox_name_words",
    metadata,
    # Byte order on PostgreSQL, so the primary key serves both the prefix range and its
    # ORDER BY (its default collation would need a pattern_ops index that cannot sort).
    Column(
        "word",
        String(100).with_variant(String(100, collation="C"), "postgresql"),
        primary_key=True,
    ),
    Column(
        "mailbox_id",
        Integer,
        ForeignKey("mailboxes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_mailbox_name_words_mailbox_id", "mailbox_id"),
)

# Every suffix of each address that starts after a separator ("celik@bau-koeln.de" gives
# "bau-koeln.de", "koeln.de" and "de"; the part after "@" too). "Address contains" is a prefix
# range scan on it that never reads a mailbox row, the same cost at 3,000 and at a million
# mailboxes. Database triggers keep it (helpdesk/mailcenter/db.py), so mailboxes that another
# program writes are found as well.
mailbox_address_parts = Table(
    "mailbox_address_parts",
    metadata,
    Column(
        "part",
        String(ADDRESS)
        .with_variant(String(ADDRESS, collation="C"), "postgresql")
        .with_variant(String(ADDRESS, collation="utf8mb4_bin"), "mysql", "mariadb"),
        primary_key=True,
    ),
    Column(
        "mailbox_id",
        Integer,
        ForeignKey("mailboxes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The separator in front of the part, so that ".de" or "@bau-koeln.de" find it too.
    Column("lead", String(1), nullable=False),
    Index("ix_mailbox_address_parts_mailbox_id", "mailbox_id"),
)

# Characters that start a new part of an address; a query that begins with one of them is
# looked up with it as the part's `lead`.
PART_SEPARATORS = ".@-_+"

# The numbers 1 to ADDRESS: the triggers that fill mailbox_address_parts walk an address with
# them, since SQLite allows no recursive query inside a trigger.
search_positions = Table(
    "search_positions",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("operator", String(128), nullable=False),
    Column("client_addr", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(ADDRESS), nullable=False),
    Column("ticket", String(64), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Index("ix_audit_log_target_at", "target", "at"),
    Index("ix_audit_log_at", "at"),
)

# --- Features add their tables below, each in a marked section of its own. ---

# --- Outbound releases (helpdesk/rspamd/releases.py; docs/schema.md "Outbound releases") ---

# One row per "let this message from this user through rspamd"; the rspamd map is rebuilt
# from the confirmed rows that are neither revoked nor expired after every change.
# `state`: pending (written, not yet on every controller), confirmed, or withdrawn (taken off
# every controller again because the push failed); docs/schema.md "Outbound releases".
outbound_releases = Table(
    "outbound_releases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(ADDRESS), nullable=False),
    # Without angle brackets, as rspamd's `messageid` selector reads it.
    Column("message_id", String(500), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("operator", String(128), nullable=False),
    Column("client_addr", String(64), nullable=True),
    Column("ticket", String(64), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Column("revoked_by", String(128), nullable=True),
    Column("revoke_ticket", String(64), nullable=True),
    # First time Exim accepted the released message (older rows: rspamd's history showed it).
    Column("used_at", DateTime, nullable=True),
    Column("state", String(16), nullable=False, server_default="confirmed"),
    # rspamd's content digest of the message (32 hex): the map line is `address|digest`. NULL
    # on rows from before digests; those are no longer in the map.
    Column("digest", String(64), nullable=True),
    # How many times the message may pass, and how many are left: Exim's DATA ACL takes one
    # with `UPDATE ... SET uses_left = uses_left - 1 WHERE ... AND uses_left > 0`.
    Column("uses", Integer, nullable=False, server_default="1"),
    Column("uses_left", Integer, nullable=False, server_default="1"),
    Index("ix_outbound_releases_address", "address"),
    Index("ix_outbound_releases_expires_at", "expires_at"),
)

# A single row (id = 1): `generation` is the number of the last map built; every map carries
# its number in a `# generation N` line, and a newer one is never replaced by an older one.
outbound_release_map = Table(
    "outbound_release_map",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False, default=0),
    Column("saved_at", DateTime, nullable=True),
)

# Columns added after a table first shipped: `db init` adds them to an existing database.
LATER_COLUMNS = [
    ("outbound_releases", "state", "VARCHAR(16) NOT NULL DEFAULT 'confirmed'"),
    ("outbound_releases", "digest", "VARCHAR(64)"),
    ("outbound_releases", "uses", "INTEGER NOT NULL DEFAULT 1"),
    ("outbound_releases", "uses_left", "INTEGER NOT NULL DEFAULT 1"),
]


def add_later_columns(conn) -> None:
    """ALTER TABLE ... ADD COLUMN for every LATER_COLUMNS entry the database lacks."""
    from sqlalchemy import inspect, text

    inspector = inspect(conn)
    for table, column, ddl in LATER_COLUMNS:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


# --- Spam ladders and sender lists (helpdesk/spam/settings.py; docs/schema.md "Spam ladders") ---

# One row per scope that has settings of its own: the site default (scope_key "site"), a domain
# default ("domain:<id>", domain_id set) or a mailbox ("mailbox:<id>", mailbox_id set). `ladder`
# is JSON; NULL on a mailbox row means "the domain's ladder" (the row then only exists for its
# sender lists). `script` is the effective Sieve script for that scope, which Dovecot reads
# through the spam_sieve view below.
spam_settings = Table(
    "spam_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scope_key", String(40), nullable=False, unique=True),
    Column("domain_id", Integer, ForeignKey("domains.id", ondelete="CASCADE"), nullable=True),
    Column(
        "mailbox_id",
        Integer,
        ForeignKey("mailboxes.id", ondelete="CASCADE"),
        nullable=True,
        unique=True,
    ),
    Column("ladder", Text, nullable=True),
    Column("script", Text, nullable=False),
    Column("script_id", String(64), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("updated_at", DateTime, nullable=True),
    Index("ix_spam_settings_domain_id", "domain_id"),
)

spam_senders = Table(
    "spam_senders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    Column("list", String(5), nullable=False),  # "allow" | "block"
    Column("sender", String(ADDRESS), nullable=False),  # address, or "@domain"
    UniqueConstraint("mailbox_id", "list", "sender", name="uq_spam_senders"),
)

# --- Sending limits (helpdesk/limits/; docs/schema.md "Sending limits") ---

# One row per scope with limits of its own: the global default (scope_key "global", written by
# `db init` from [limits]), a domain ("domain:<id>", domain_id set) or a mailbox
# ("mailbox:<id>", mailbox_id set). NULL in a limit column means "the next scope's value";
# 0 means no limit. Exim resolves mailbox -> domain -> global in one query (stack/exim).
sending_limits = Table(
    "sending_limits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scope_key", String(40), nullable=False, unique=True),
    Column("domain_id", Integer, ForeignKey("domains.id", ondelete="CASCADE"), nullable=True),
    Column(
        "mailbox_id",
        Integer,
        ForeignKey("mailboxes.id", ondelete="CASCADE"),
        nullable=True,
        unique=True,
    ),
    Column("messages_per_hour", Integer, nullable=True),
    Column("recipients_per_hour", Integer, nullable=True),
    Column("recipients_per_message", Integer, nullable=True),
    # "refuse" (550) or "defer" (451) once over a limit.
    Column("over_limit", String(8), nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("updated_at", DateTime, nullable=True),
    Index("ix_sending_limits_domain_id", "domain_id"),
)

# --- Automatic suspension (helpdesk/watch/; docs/schema.md "Watcher") ---

# Where the watcher is in each log it follows: the file's identity (device, inode) and offset,
# so a restart resumes there and a rotated file is recognised.
watch_positions = Table(
    "watch_positions",
    metadata,
    Column("path", String(500), primary_key=True),
    Column("device", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# One row per mailbox the watcher has looked at: the row a watcher locks before it acts (two
# watchers never both act), the evidence, and when it suspended (never twice for one burst).
watch_accounts = Table(
    "watch_accounts",
    metadata,
    Column("address", String(ADDRESS), primary_key=True),
    Column("suspended_at", DateTime, nullable=True),
    Column("reason", String(500), nullable=True),
    Column("evidence", Text, nullable=True),
    Column("watcher", String(128), nullable=True),
    Column("notified", Boolean, nullable=False, default=False),
)


# Written by Dovecot's last_login plugin through dict-sql (stack/dovecot/last-login*.in), read
# by the login timeline: its shape is Dovecot's. `last_login` is Unix seconds, the one exception
# to the UTC-datetime rule; unique on (username, service) for dict-sql's upsert.
last_login = Table(
    "last_login",
    metadata,
    Column("username", String(ADDRESS), nullable=False),
    Column("service", String(32), nullable=False),
    Column("last_login", BigInteger, nullable=False),
    UniqueConstraint("username", "service", name="uq_last_login_user_service"),
)

# What Dovecot's dict-sql map reads (stack/dovecot/sieve.conf.in): each mailbox's effective
# script, its own, else its domain's, else the site's. One plain join, so every database
# merges the view into Dovecot's `WHERE username = ...` query and uses the address index.
SPAM_SIEVE_VIEW = """
CREATE {verb} spam_sieve AS
SELECT m.address AS username,
       'helpdesk-spam' AS script_name,
       COALESCE(ms.script_id, ds.script_id, ss.script_id) AS script_id,
       COALESCE(ms.script, ds.script, ss.script) AS script
FROM mailboxes m
LEFT JOIN spam_settings ms ON ms.mailbox_id = m.id
LEFT JOIN spam_settings ds ON ds.domain_id = m.domain_id
LEFT JOIN spam_settings ss ON ss.scope_key = 'site'
WHERE COALESCE(ms.script_id, ds.script_id, ss.script_id) IS NOT NULL
"""


def _spam_sieve_view_ddl() -> None:
    from sqlalchemy import DDL, event

    for dialect, verb in (
        ("sqlite", "VIEW IF NOT EXISTS"),
        ("postgresql", "OR REPLACE VIEW"),
        ("mysql", "OR REPLACE VIEW"),
        ("mariadb", "OR REPLACE VIEW"),
    ):
        create = DDL(SPAM_SIEVE_VIEW.format(verb=verb)).execute_if(dialect=dialect)
        event.listen(metadata, "after_create", create)
    event.listen(metadata, "before_drop", DDL("DROP VIEW IF EXISTS spam_sieve"))


_spam_sieve_view_ddl()


# --- Forwards and auto-replies (helpdesk/forwards/; docs/schema.md "Forwards and auto-replies") ---

# At most one auto-reply per mailbox; `days` is how long a sender is not answered again.
autoreplies = Table(
    "autoreplies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "mailbox_id",
        Integer,
        ForeignKey("mailboxes.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("days", Integer, nullable=False, default=7),
    Column("starts_at", DateTime, nullable=True),
    Column("ends_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=True),
)

# The forwards and auto-reply part of a mailbox's Sieve script, written with every change of
# either: `body` follows the spam part (which requires its extensions), `script` stands alone
# for a mailbox without any spam script.
delivery_sieve = Table(
    "delivery_sieve",
    metadata,
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True),
    Column("body", Text, nullable=False),
    Column("script", Text, nullable=False),
    Column("script_id", String(64), nullable=False),
    Column("updated_at", DateTime, nullable=True),
)

# What Dovecot reads (stack/dovecot/sieve-dict.conf.ext.in): the spam part, then the forwards
# and auto-reply part, as one script. MySQL's `||` is OR unless PIPES_AS_CONCAT is set.
HELPDESK_SIEVE_VIEW = """
CREATE {verb} helpdesk_sieve AS
SELECT m.address AS username,
       'helpdesk-spam' AS script_name,
       CASE WHEN sp.script_id IS NULL THEN d.script_id
            WHEN d.script_id IS NULL THEN sp.script_id
            ELSE {id_concat} END AS script_id,
       CASE WHEN sp.script IS NULL THEN d.script
            WHEN d.body IS NULL THEN sp.script
            ELSE {script_concat} END AS script
FROM mailboxes m
LEFT JOIN spam_sieve sp ON sp.username = m.address
LEFT JOIN delivery_sieve d ON d.mailbox_id = m.id
WHERE sp.script_id IS NOT NULL OR d.script_id IS NOT NULL
"""


def _helpdesk_sieve_view_ddl() -> None:
    from sqlalchemy import DDL, event

    pipes = {
        "id_concat": "sp.script_id || '-' || d.script_id",
        "script_concat": "sp.script || d.body",
    }
    concat = {
        "id_concat": "CONCAT(sp.script_id, '-', d.script_id)",
        "script_concat": "CONCAT(sp.script, d.body)",
    }
    for dialect, verb, parts in (
        ("sqlite", "VIEW IF NOT EXISTS", pipes),
        ("postgresql", "OR REPLACE VIEW", pipes),
        ("mysql", "OR REPLACE VIEW", concat),
        ("mariadb", "OR REPLACE VIEW", concat),
    ):
        create = DDL(HELPDESK_SIEVE_VIEW.format(verb=verb, **parts)).execute_if(dialect=dialect)
        event.listen(metadata, "after_create", create)
    # Before spam_sieve's own drop: this view depends on it.
    event.listen(metadata, "before_drop", DDL("DROP VIEW IF EXISTS helpdesk_sieve"), insert=True)


_helpdesk_sieve_view_ddl()


# --- Mailbox changes (helpdesk/mailcenter/change_triggers.py; docs/schema.md "Mailbox changes") ---

# One row per insert, update or delete of a forward, auto-reply or alias and per change of a
# mailbox's password hash or sending flag, written by database triggers whoever made it. The
# sweep (helpdesk/sweep/) reads it, and adds the customer's new or changed Sieve scripts.
mailbox_changes = Table(
    "mailbox_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("address", String(ADDRESS), nullable=True),
    # forward, autoreply, alias, password, sending; rule (a customer's Sieve script)
    Column("kind", String(16), nullable=False),
    Column("op", String(8), nullable=False),  # insert, update, delete
    Column("detail", String(ADDRESS), nullable=True),
    # Who wrote it (helpdesk/mailcenter/change_marks.py) and the helpdesk's audit row, if any.
    Column("txn", BigInteger, nullable=True),
    Column("audit_id", Integer, nullable=True),
    Index("ix_mailbox_changes_address_at", "address", "at"),
    Index("ix_mailbox_changes_txn", "txn"),
)


def _register_change_triggers() -> None:
    from helpdesk.mailcenter.change_triggers import register

    register(metadata)


_register_change_triggers()
