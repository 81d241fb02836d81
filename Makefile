# PoolGate developer entry points. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
VENV_PYTHON := $(VENV)/bin/python
POOLGATE    := $(VENV)/bin/poolgate
PYTEST_ARGS ?=
COMPOSE     := docker compose -f deploy/compose.yaml
LOCALES     := services/account_service/console/locales

.PHONY: help install test-clients browser backing-services migrate first-admin up test lint messages bench compose-up compose-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: ## install uv if missing and sync .venv from uv.lock (uv sync --frozen)
	bash deploy/local/bootstrap.sh

test-clients: ## install the real clients the e2e tests drive (Claude Code, from tests/clients/package-lock.json)
	npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error

browser: ## install Debian's Chromium and a Chinese font if missing (the Dreamina login; the console's screenshots)
	bash deploy/local/ensure-browser.sh

backing-services: ## start local PostgreSQL, Redis, RabbitMQ if down; create the poolgate database
	bash deploy/local/ensure-backing-services.sh

migrate: install backing-services ## apply database migrations
	$(POOLGATE) migrate

first-admin: migrate ## create user admin + API key (kept in .poolgate/admin.key), print key and URLs
	bash deploy/local/first-admin.sh

up: first-admin ## everything above, then run all three services in the foreground (poolgate up)
	exec $(POOLGATE) up

test: install test-clients browser backing-services ## run the test suite (extra pytest arguments: PYTEST_ARGS="-k foo")
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

lint: install ## ruff check
	$(VENV)/bin/ruff check .

# No locations or wrapping: the catalog's diff shows only what changed. Existing translations are
# kept; new strings come in untranslated (no fuzzy guesses); removed ones stay as obsolete (#~).
messages: install ## extract the console's strings (babel.cfg) to a .pot, merge them into the zh catalog to translate
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --no-wrap --project="PoolGate console" \
		--copyright-holder=PoolGate -o $(LOCALES)/messages.pot .
	$(VENV)/bin/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -l zh --no-wrap \
		--no-fuzzy-matching --ignore-pot-creation-date

bench: install backing-services ## run the benchmark (bench/)
	$(VENV_PYTHON) -m bench

compose-up: ## build the image and run the whole stack with Docker Compose (needs deploy/.env)
	$(COMPOSE) up --build

compose-down: ## stop the Docker Compose stack (volumes are kept)
	$(COMPOSE) down
