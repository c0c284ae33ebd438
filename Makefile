# The README's commands. Each bootstraps what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv
PYTEST_ARGS ?=
# Let Python cache compiled modules (this machine kind sets PYTHONDONTWRITEBYTECODE): without
# the cache every test worker and every `guildbank` subprocess a test starts compiles its
# imports again, ~3 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE
# Two pytest-xdist workers: much of the suite waits on servers, browsers and Discord fakes.
TEST_WORKERS ?= 2

.PHONY: help bootstrap services browser run test lint format bench

help:
	@echo "make run    - API + dashboard (+ bot with a token) on SQLite at http://127.0.0.1:8000"
	@echo "make test   - lint, type-check and the whole test suite (PostgreSQL and Redis included)"
	@echo "make lint   - ruff, mypy --strict, import-linter"
	@echo "make bench  - benchmarks against pgbench on the same PostgreSQL"

bootstrap:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

# PostgreSQL and Redis are started before a session on this machine kind; start them if not.
services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no || true

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: bootstrap
	$(UV) run guildbank run

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

format: bootstrap
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

test: bootstrap services browser lint
	$(UV) run pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: bootstrap services
	@command -v pgbench >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql-contrib >/dev/null)
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) || echo "wrk not installed: bench/transfers.py falls back to its Python load generator"
	$(UV) run python -m bench.transfers
	$(UV) run python -m bench.bot_latency
	$(UV) run python -m bench.daily
	$(UV) run python -m bench.leaderboard
	$(UV) run python -m bench.integrity
	$(UV) run python -m bench.sse
	$(UV) run python -m bench.sqlite_load
	$(UV) run python -m bench.cli_start
	$(UV) run python -m bench.outbox
	$(UV) run python -m bench.purchase
