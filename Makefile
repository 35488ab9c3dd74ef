# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
HELPDESK := .venv/bin/helpdesk
VENV_STAMP := .venv/.installed
DEMO_DIR := .demo
DEMO_DB := $(DEMO_DIR)/mailcenter.sqlite
DEMO_CONFIG := $(DEMO_DIR)/helpdesk.toml
PYTEST_ARGS ?=

.PHONY: demo test venv demo-db lint format bench clean

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[dev]'
	touch $@

# The demo database is built once; later runs reuse it.
demo-db: $(VENV_STAMP)
	@mkdir -p $(DEMO_DIR)
	@test -f $(DEMO_CONFIG) || printf '[database]\nurl = "sqlite:///%s"\n' "$(abspath $(DEMO_DB))" > $(DEMO_CONFIG)
	@test -f $(DEMO_DB) || $(HELPDESK) --config $(DEMO_CONFIG) db demo

# The TUI on the demo database, with the local mail stack behind it where it can start.
demo: demo-db
	@if DATABASE_URL="sqlite:///$(abspath $(DEMO_DB))" $(MAKE) --no-print-directory stack; then \
		$(PY) -m stack.traffic --once-per-stack || echo "demo: traffic round failed; the TUI still opens"; \
		. .stack/env && $(HELPDESK) --config "$$HELPDESK_CONFIG"; \
	else \
		echo "demo: the mail stack could not start (see above); opening the TUI on the database alone"; \
		$(HELPDESK) --config $(DEMO_CONFIG); \
	fi

test: $(VENV_STAMP) stack-packages
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: $(VENV_STAMP)
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: $(VENV_STAMP)
	$(PY) bench/search.py
	$(PY) bench/sendlog.py

clean:
	rm -rf $(DEMO_DIR)

-include stack/stack.mk
