"""Mailcenter Helpdesk: the core (database, rspamd, passwords, send logs, audit, CLI).

Nothing in this package imports Textual; the UI lives in `screens/`.
"""

__version__ = "0.1.0"
