"""The sweep after a takeover: the recent changes attackers make to a mailbox (forwards,
auto-replies, aliases, the customer's Sieve scripts, password, sending), who made them, and
undoing one with a ticket.

May import: helpdesk.mailcenter, helpdesk.forwards
"""
