# Quorum: `make run` (zero-setup local server) and `make test` (full suite on PostgreSQL).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/quorum
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: venv run test migrate seed bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

migrate: venv
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Embedded default: SQLite file in var/, Celery tasks run eagerly, no services needed.
# The periodic jobs (what beat runs in production) run beside the server and stop with it.
# Without STRIPE_SECRET_KEY, money is the sandbox's test money (top-ups credited at once,
# payouts marked paid); with it, Stripe as configured.
run: export PAYMENTS_SANDBOX ?= $(if $(STRIPE_SECRET_KEY),false,true)
run: export PAYOUT_PROVIDER ?= $(if $(STRIPE_SECRET_KEY),manual,sandbox)
run: seed
	@echo "Quorum API on http://$(HOST):$(PORT)/api/v1/  docs: http://$(HOST):$(PORT)/api/docs/"
	@if [ "$$PAYMENTS_SANDBOX" = true ]; then echo "Payments: SANDBOX (test money; set STRIPE_SECRET_KEY for Stripe)"; fi
	@$(BIN)/python manage.py run_periodic_jobs & periodic=$$!; \
	trap 'kill $$periodic 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

test: venv
	./scripts/ensure_services.sh
	$(BIN)/lint-imports
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL= \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks (not tests): each prints JSON lines beside a baseline from the same run.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/quorum_bench
bench: venv
	./scripts/ensure_services.sh
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/import_items.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/claim.py
	$(BIN)/python bench/aggregate.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/payout_run.py

clean:
	rm -rf $(VENV) var .pytest_cache
