"""`helpdesk watch`: follows the mainlog and suspends an account that crosses a hard line of the
`[watch]` policy (distinct messages refused as spam, repeated limit hits), with an audit row,
a mail to support, and its position and evidence in the database.

May import: helpdesk.mailcenter, helpdesk.logs, helpdesk.sendlog, helpdesk.limits
"""
