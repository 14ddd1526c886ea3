# comms — the two commands of the README, and a few helpers.
#   make run   set up (venv, dependencies, database, demo data) and serve on http://$(HOST):$(PORT)
#   make test  set up the dev dependencies, lint (ruff, then the import layers: lint-imports),
#              and run the whole test suite (with the API robustness run,
#              tests/comms/test_schemathesis.py; alone: make api-check)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PASSWORD ?= jateng-demo-2026
RUN_ENV := DEBUG=$${DEBUG:-true} DEMO_PASSWORD=$(DEMO_PASSWORD)

.PHONY: run test lint api-check arch-checks bench worker messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# A stamp per requirements file: a second `make run` skips the install when nothing changed.
$(VENV)/.req-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.req-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.req-run

run: $(VENV)/.req-run
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@echo "comms: http://$(HOST):$(PORT)/  (demo logins: README.md § Demo logins)"
	@# The task worker runs beside the server; both stop together on Ctrl-C.
	trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(RUN_ENV) $(BIN)/python manage.py db_worker --queue-name '*' & \
	$(RUN_ENV) $(BIN)/daphne -b $(HOST) -p $(PORT) --websocket-max-message-size 65536 \
		--websocket-max-frame-size 65536 comms.asgi:application

worker: $(VENV)/.req-run
	$(RUN_ENV) $(BIN)/python manage.py db_worker --queue-name '*'

test: $(VENV)/.req-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.req-dev
	$(BIN)/ruff check .

# Only the API robustness run (schemathesis against a real server; part of `make test` too).
api-check: $(VENV)/.req-dev
	$(BIN)/pytest -m schemathesis $(PYTEST_ARGS)

# The import layers and the types (contracts and settings in pyproject.toml). lint-imports is
# in `test` already; mypy joins it once its errors are fixed (issue 15).
arch-checks: $(VENV)/.req-dev
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(VENV)/.req-dev
	$(BIN)/python -m bench

messages: $(VENV)/.req-dev
	DEBUG=true $(BIN)/python manage.py makemessages -l en --ignore=.venv --ignore=bench --ignore=tests
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
