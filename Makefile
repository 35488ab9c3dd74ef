# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
HELPDESK := .venv/bin/helpdesk
VENV_STAMP := .venv/.installed
DEMO_DIR := .demo
DEMO_DB := $(DEMO_DIR)/mailcenter.sqlite
DEMO_CONFIG := $(DEMO_DIR)/helpdesk.toml
SETUP_LOG := $(DEMO_DIR)/setup.log
PYTEST_ARGS ?=
# Two workers, one per core; the tests on the shared local stack all go to one of them
# (tests/conftest.py marks them), the rest are spread over both.
PYTEST_WORKERS ?= 2

.PHONY: demo test venv demo-db catalogs lint format bench clean

venv: $(VENV_STAMP)

# pip's output goes to a log, named in the one line a failure prints.
$(VENV_STAMP): pyproject.toml setup.py
	@mkdir -p $(DEMO_DIR)
	@echo "setting up .venv (pip's output: $(SETUP_LOG))"
	@{ { test -x .venv/bin/python || python3 -m venv .venv; } \
		&& .venv/bin/pip install -q --disable-pip-version-check --upgrade pip \
		&& .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'; \
	} >>$(SETUP_LOG) 2>&1 || { echo "setting up .venv failed; see $(SETUP_LOG)"; exit 1; }
	@touch $@

# The translation catalogs of the working tree (.po -> .mo); a built package has its own.
catalogs: $(VENV_STAMP)
	@$(PY) catalogs.py compile >/dev/null

# The demo database is built once; later runs reuse it.
demo-db: $(VENV_STAMP) catalogs
	@mkdir -p $(DEMO_DIR)
	@test -f $(DEMO_CONFIG) || printf '[database]\nurl = "sqlite:///%s"\n' "$(abspath $(DEMO_DB))" > $(DEMO_CONFIG)
	@test -f $(DEMO_DB) || $(HELPDESK) --config $(DEMO_CONFIG) db demo

# The TUI on the demo database, with the local mail stack behind it where it can start. A few
# lines say what is there and what to try; the traffic round's summary goes to a file.
demo: demo-db
	@if DATABASE_URL="sqlite:///$(abspath $(DEMO_DB))" $(MAKE) --no-print-directory stack; then \
		$(PY) -m stack.traffic --once-per-stack --output $(DEMO_DIR)/traffic.txt \
			|| echo "demo: traffic round failed; the TUI still opens"; \
		$(PY) -m stack.welcome --config $(DEMO_CONFIG) --stack; \
		$(OPEN_PROMPT); \
		. .stack/env && $(HELPDESK) --config "$$HELPDESK_CONFIG"; \
	else \
		$(PY) -m stack.welcome --config $(DEMO_CONFIG); \
		$(OPEN_PROMPT); \
		$(HELPDESK) --config $(DEMO_CONFIG); \
	fi

# The TUI takes the whole terminal: wait for Enter so that the lines above can be read first.
OPEN_PROMPT := if [ -t 0 ]; then read -r -p "Enter opens the TUI (Ctrl+Q quits it) " _; fi

test: $(VENV_STAMP) catalogs stack-packages
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: $(VENV_STAMP)
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: $(VENV_STAMP)
	$(PY) bench/search.py
	$(PY) bench/sendlog.py
	$(MAKE) --no-print-directory stack && $(PY) bench/calls.py

clean:
	rm -rf $(DEMO_DIR)

-include stack/stack.mk
