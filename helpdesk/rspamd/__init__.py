"""rspamd: the controller client (settings, transport with deadline and size cap, history,
symbols), blocked mail (rspamd history joined with Exim rejects) and outbound releases.

May import: helpdesk.logs, helpdesk.mailcenter, helpdesk.sendlog
"""
