# Clinic booking portal - developer and CI entry points (GNU make).
#
#   make venv       create .venv and install the project with dev extras
#   make run        migrate, seed demo data, serve on http://127.0.0.1:5000 (with the schedule in-process)
#   make test       run the test suite (needs Chromium at /usr/bin/chromium)
#   make browsers   make sure Debian's Chromium is installed
#   make worker     run an RQ worker          (needs Redis, REDIS_URL)
#   make scheduler  run the RQ scheduler      (needs Redis, REDIS_URL)
#   make lint       ruff
#   make clean      remove the venv, caches and build output (keeps instance/)
#
# Pass extra pytest arguments with e.g.  make test PYTEST_ARGS='-k booking -x'

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
FLASK       := $(BIN)/flask --app wsgi
CHROMIUM    := /usr/bin/chromium
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run test browsers worker scheduler lint clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

# The interpreter exists once the venv has been created.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

venv: $(STAMP)

run: venv
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	EMBEDDED_SCHEDULER=1 $(FLASK) run --host 127.0.0.1 --port 5000

test: venv browsers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Playwright's own browser download cannot work here; the browser tests drive
# Debian's Chromium at /usr/bin/chromium instead.
browsers:
	@if [ -x "$(CHROMIUM)" ]; then \
		echo "Chromium found at $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Chromium missing: installing Debian's chromium package"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		[ -x "$(CHROMIUM)" ] || { echo "ERROR: apt-get ran but $(CHROMIUM) is still missing" >&2; exit 1; }; \
	else \
		echo "ERROR: Chromium is required at $(CHROMIUM) for the browser tests." >&2; \
		echo "       Install it as root:  apt-get update && apt-get install -y chromium" >&2; \
		exit 1; \
	fi

worker: venv
	TZ=UTC $(FLASK) rq worker

scheduler: venv
	TZ=UTC $(FLASK) rq scheduler

lint: venv
	$(BIN)/ruff check portal tests bench migrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	find . -path ./.git -prune -o -type f -name '*.py[co]' -exec rm -f {} +
