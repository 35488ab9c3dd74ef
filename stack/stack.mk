# Targets of the local mail stack (stack/README.md); included by the Makefile.
PY ?= .venv/bin/python
VENV_STAMP ?= .venv/.installed

.PHONY: stack stack-down stack-status stack-packages

# Installs the Debian packages if missing, starts rspamd, Dovecot and Exim on 127.0.0.1 and
# writes .stack/env (`. .stack/env` exports its variables). A second `make stack` finds it running
# and returns at once. On a fresh clone it builds the virtualenv the launcher runs in first.
stack: $(VENV_STAMP)
	@$(PY) -m stack.launcher up

stack-down:
	$(PY) -m stack.launcher down

stack-status:
	$(PY) -m stack.launcher status

# Only the Debian packages (apt-get update first); without root it just says what is missing.
stack-packages:
	@$(PY) -m stack.launcher packages
