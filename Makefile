# The two commands: `make run` (the whole system up) and `make test` (the whole suite).
# Both install what is missing and start Kafka and PostgreSQL themselves, on a fresh machine.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
PY := .venv/bin/python
# uv must use the machine's Python 3.11, never download one (only package registries are reachable).
export UV_PYTHON_DOWNLOADS := never
# Python keeps its compiled modules (__pycache__/, ignored by git). Some machines set
# PYTHONDONTWRITEBYTECODE (this one does): then every process compiles every module it
# imports from source again, about 7 s of CPU for a service or a pytest process, and the test
# run starts hundreds of them.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help run stop test test-unit test-integration test-e2e chaos check lint typecheck \
        contracts contracts-release compat clients migrate topics infra deps kafka-reset bench \
        bench-tools token compose docs browser

help:
	@echo "make run    - install, start Kafka + PostgreSQL, migrate, run the six services and the"
	@echo "             console at http://127.0.0.1:8006/console/ (Ctrl-C stops);"
	@echo "             REPLICAS=2 runs two instances of each (replica 2 on ports 8101-8106)"
	@echo "make test   - install, start Kafka + PostgreSQL, lint, type-check and run the whole suite"
	@echo "make stop   - stop a stack left running"
	@echo "make token SCOPES=... CHANNELS=... LOCATIONS=... - a development access token"
	@echo "make bench  - benchmarks beside the same-run pgbench ceiling: BENCHMARKS.md and a plot"
	@echo "make contracts-release - the current contracts become the released baseline (contracts/released)"
	@echo "make clients - generate the typed Python clients (clients/<service>) from contracts/openapi"
	@echo "make compose - regenerate docker-compose.yml and deploy/postgres/init.sql from libs/registry.py"
	@echo "make docs   - the HTTP API reference from contracts/openapi (Redoc): build/docs/index.html"
	@echo "make browser - install Debian's chromium (the console's browser tests drive it headless)"
	@echo "other: test-unit test-integration test-e2e chaos check contracts migrate topics kafka-reset"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

deps: .venv/.synced

infra: deps
	deploy/local/postgres.sh ensure
	deploy/local/kafka.sh start

migrate: infra
	$(PY) -m libs.db.migrate

# The local broker is a cluster of one: one copy of each partition (production's default is 3).
topics: infra
	OMS_KAFKA_REPLICATION_FACTOR=1 OMS_KAFKA_MIN_INSYNC_REPLICAS=1 $(PY) -m libs.messaging.admin ensure-topics

# REPLICAS=n: n instances of every service, each on its own port (deploy/local/run.sh).
REPLICAS ?= 1
run: migrate topics
	@OMS_REPLICAS=$(REPLICAS) deploy/local/run.sh

stop:
	deploy/local/stop.sh

# A development access token for the `make run` stack, e.g.
#   make token SCOPES="orders:read orders:write" CHANNELS=web
SCOPES ?= admin
token: deps
	@$(PY) -m tools.dev_auth token --scopes "$(SCOPES)" --channels "$(CHANNELS)" \
		--locations "$(LOCATIONS)" --client-id "$(or $(CLIENT_ID),dev-client)"

kafka-reset:
	deploy/local/kafka.sh reset

contracts: deps
	$(PY) -m tools.contracts

# docker-compose.yml and deploy/postgres/init.sql cannot import Python: they are generated from
# the service registry (libs/registry.py) and committed; a unit test fails when they are stale.
compose: deps
	$(PY) -m tools.compose

# The breaking-change gate compares contracts/ with the released baseline (also a unit test).
compat: deps
	$(PY) -m tools.compat

# Run only when cutting a release: after a major API bump, or a new event type version.
contracts-release: deps
	$(PY) -m tools.compat --release

# Generated clients are build output (git ignores them): remade whenever a contract changes.
CLIENT_STAMP := clients/.generated
$(CLIENT_STAMP): $(wildcard contracts/openapi/*.json) tools/clients.py .venv/.synced
	$(PY) -m tools.clients
	@touch $@

clients: $(CLIENT_STAMP)

# The HTTP API reference as static pages, rendered by the vendored Redoc (tools/docs/vendor/)
# from the committed documents, so it needs no network and opens from file://.
docs: deps
	$(PY) -m tools.docs

lint: deps
	.venv/bin/ruff check libs services tools tests migrations bench
	.venv/bin/ruff format --check libs services tools tests migrations bench
	.venv/bin/lint-imports

typecheck: deps clients
	.venv/bin/mypy libs services tools tests bench

check: lint typecheck

# pytest exits 5 when it collects nothing: that must fail loudly, never pass as "no failures".
define pytest
	@set +e; $(PY) -m pytest $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc
endef

# The browser tests (tests/support/browser.py) drive Debian's chromium headless through
# Playwright, never a browser `playwright install` would download: installed when missing.
browser:
	deploy/local/browser.sh ensure

# Two pytest runs at once, each with its own databases, ports and topics (tools/test_shards.py).
test: check infra browser
	$(PY) -m tools.test_shards -ra --durations=8

# Benchmarks report figures; they assert nothing about speed (the suite never times anything).
# Benchmarks (not part of `make test`): starts its own services on the test databases,
# measures the pgbench ceiling and every scenario, writes BENCHMARKS.md and the plot.
# wrk (Debian's package) drives the closed-loop capture runs; installed when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
bench-tools:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }

bench: infra bench-tools
	$(PY) -m bench

test-unit: deps clients
	$(call pytest,-m unit)

test-integration: infra clients
	$(call pytest,-m integration)

test-e2e: infra clients browser
	$(call pytest,-m e2e)

# Kills and outages under load (tests/chaos): its own broker and PostgreSQL, never the shared ones.
chaos: infra clients
	$(call pytest,-m chaos)
