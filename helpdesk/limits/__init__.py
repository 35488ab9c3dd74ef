"""Sending limits per mailbox, per domain and globally, as Exim enforces them: the rows Exim
reads, the `[limits]` settings, the wording of a smoothed rate, and the usage Exim counted.

May import: helpdesk.mailcenter, helpdesk.logs, helpdesk.sendlog
"""
