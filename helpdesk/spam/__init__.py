"""Spam settings: ladders and sender lists, the legacy scale conversion, the spam part of the
Sieve script, the preview against the logs, demo settings.

May import: helpdesk.logs, helpdesk.mailcenter, helpdesk.sendlog, helpdesk.sieve
"""
