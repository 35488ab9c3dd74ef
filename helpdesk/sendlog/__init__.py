"""The send log: the Exim line parser, offenders with their score and report, message trails,
the `[sendlog]` settings.

May import: helpdesk.logs, helpdesk.mailcenter
"""
