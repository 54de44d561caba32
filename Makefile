# Two commands for a newcomer: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.deps-installed
NODE_STAMP := node_modules/.deps-installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.deps-installed

.PHONY: run test deps lint package clean client browser console routes
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps: $(PY_STAMP) $(NODE_STAMP) $(SAM_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

$(NODE_STAMP): package.json
	npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $@

run: deps console
	$(BIN)/python -m devtools.stack

# Browser tests drive Debian's chromium (browsers cannot be downloaded here);
# a small CJK font makes the screenshots readable. Installed once, if missing.
browser:
	@test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || { \
	  $(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }; }

# The console bundle (esbuild from npm; output in console/dist, not committed).
console: deps
	$(BIN)/python -c "from devtools.console_server import build; build()"

test: deps browser console
	$(BIN)/ruff check .
	$(BIN)/mypy chalicelib app.py infra
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: deps
	$(BIN)/ruff check .
	$(BIN)/mypy chalicelib app.py infra

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .local .pytest_cache

# After adding, removing or changing an HTTP route: regenerate the route table
# app.py registers without importing the routes (docs/cold_start.md).
routes: deps
	$(BIN)/python -m devtools.route_table --write

STAGE ?= dev
package: deps
	$(BIN)/python -m infra.build --stage $(STAGE) --lint

# The typed TypeScript client (clients/typescript/): types from the OpenAPI document, then tsc.
client: deps
	$(BIN)/python -m devtools.export_openapi clients/typescript/openapi.json
	cd clients/typescript && ../../node_modules/.bin/openapi-typescript openapi.json -o generated/schema.d.ts --default-non-nullable false
	cd clients/typescript && ../../node_modules/.bin/tsc -p tsconfig.json
