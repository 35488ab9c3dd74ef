"""Logins: who logged in (or failed to) over IMAP, POP3 and SMTP, and why, from Dovecot's log
and Exim's mainlog; attribution of attempts without a user name; diagnoses with the fix to tell
the customer; the client-settings card; the fleet of mailboxes on old client settings.

May import: helpdesk.logs, helpdesk.mailcenter, helpdesk.sendlog
"""
