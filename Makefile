# The README's two commands: `make demo` and `make test`. Everything installs into ./.venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GraphiQL's browser files: the versions graphiql/package-lock.json pins, from the npm registry (served at /graphiql/assets/);
# with them graphql-ws and ws, which the tests run docs/clients.md's JavaScript subscriber with (Node 20).
NPM_STAMP := graphiql/node_modules/.installed

.PHONY: demo test lint install clean bench soak

# The packages install as sessions_gateway.<folder> (pyproject.toml's package-dir): a strict editable install links
# each module under that name (build/__editable__.*), which strict mypy and lint-imports read as the code runs it.
# Adding or removing a module changes its folder, which installs again.
PACKAGE_DIRS := gateway schema resolvers loaders db

$(STAMP): pyproject.toml constraints.txt $(PACKAGE_DIRS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt --config-settings editable_mode=strict -e '.[test]'
	@touch $(STAMP)

$(NPM_STAMP): graphiql/package.json graphiql/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20 or newer) is required to install GraphiQL's files" >&2; exit 1; }
	cd graphiql && npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

# make demo PORT=8001 serves on another port (8000 by default).
PORT ?=
demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/sessions-gateway demo$(if $(PORT), --port $(PORT))

test: $(STAMP) $(NPM_STAMP)
	$(BIN)/pytest

# Benchmarks against PostgreSQL (BENCH_POSTGRES_URL, default postgresql://root@127.0.0.1:5432/test) with wrk:
# the gateway, PostGraphile 5 (bench/postgraphile, installed there with npm ci on first use) and the floor;
# writes bench/RESULTS.md. Options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--sessions 1000000".
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py --scaling $(BENCH_ARGS)

# Soak run against PostgreSQL (BENCH_POSTGRES_URL as for bench): mixed list/detail/report traffic of several
# tenants for 60 s; fails on any error; writes bench/SOAK.md. Options in SOAK_ARGS, e.g. SOAK_ARGS="--duration 600".
SOAK_ARGS ?=
soak: $(STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) graphiql/node_modules sessions-demo.db sessions-demo.db-wal sessions-demo.db-shm sessions-demo.secret
