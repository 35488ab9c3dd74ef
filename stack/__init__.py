"""The local mail stack (rspamd, Dovecot, Exim) for tests and the demo; see stack/README.md."""
