# Genba ID — two commands do all set-up on a fresh machine:
#   make demo   run the service with demo data on SQLite (http://127.0.0.1:8000)
#   make test   ruff, mypy, import contracts, ESLint, then every test on SQLite and PostgreSQL and the
#               browser modules' unit tests (node --test tests/js; Node.js 20+ with npm is needed)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# The browser modules' linter, type checker and unit-test packages (ESLint, TypeScript for // @ts-check, yaml), pinned in tests/js/package-lock.json and
# installed with `npm ci` only when node_modules does not match it (tests/support/npm_dir.py, as tests/interop).
JS := tests/js
NPM_CI := $(BIN)/python -c 'import pathlib, tests.support.npm_dir as n; n.ensure_packages(pathlib.Path("$(JS)"))'

.PHONY: demo test lint bench clean venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/genba demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app idp register consent wallet connectors common tools
	$(BIN)/lint-imports
	$(BIN)/python -m tools.check_sizes --js
	$(NPM_CI)
	$(JS)/node_modules/.bin/eslint wallet/static $(JS) eslint.config.js
	$(JS)/node_modules/.bin/tsc -p $(JS)

test: lint
	node --test $(JS)/
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
