"""The Mailcenter database: engine and schema, mailboxes, search and name folding, reindexing,
the audit trail and who the operator is, demo data.

May import: nothing but the top-level helpers
"""
