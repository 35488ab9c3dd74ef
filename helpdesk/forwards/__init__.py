"""Forwards (up to 3 targets, with or without a copy, optionally scheduled) and auto-replies
of a mailbox: their settings, checks and the Sieve part that enforces them after the spam
ladder (docs/forwards.md).

May import: helpdesk.mailcenter, helpdesk.sieve
"""
