"""The hoster's own reputation: its outbound addresses against DNS blocklists (with a history
of listings and the accounts that sent most before one began), and the big receiving
providers' refusals read from the Exim mainlog.

May import: helpdesk.logs, helpdesk.sendlog, helpdesk.mailcenter
"""
