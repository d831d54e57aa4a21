# Quorum: `make run` (zero-setup local server) and `make test` (full suite on PostgreSQL).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/quorum
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Two processes: the suite is mostly database-bound, and CI machines have two cores
# (each xdist worker gets its own test database and Redis db, see conftest.py).
PYTEST_ARGS ?= -n 2

.PHONY: venv run test fuzz migrate seed bench clean demo

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

# The demo project on a simulated crowd (sandboxed: it leaves no trace), report printed.
demo: seed
	$(BIN)/python manage.py simulate --demo --workers 8 --accuracy 0.85 --spammer-share 0.25 \
		--seconds 90 --seconds-sd 30 --items 60 --seed 17

# Embedded default: SQLite file in var/, Celery tasks run eagerly, no services needed.
# The periodic jobs (what beat runs in production) run beside the server and stop with it.
# Without STRIPE_SECRET_KEY, money is the sandbox's test money (top-ups credited at once,
# payouts marked paid); with it, Stripe as configured.
run: export PAYMENTS_SANDBOX ?= $(if $(STRIPE_SECRET_KEY),false,true)
run: export PAYOUT_PROVIDER ?= $(if $(STRIPE_SECRET_KEY),manual,sandbox)
run: seed
	@echo "Quorum API on http://$(HOST):$(PORT)/api/v1/  docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "Worker app: open http://$(HOST):$(PORT)/ and sign in as ana@workers.example / quorum-demo-pass"
	@if [ "$$PAYMENTS_SANDBOX" = true ]; then echo "Payments: SANDBOX (test money; set STRIPE_SECRET_KEY for Stripe)"; fi
	@$(BIN)/python manage.py run_periodic_jobs & periodic=$$!; \
	trap 'kill $$periodic 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

test: venv
	./scripts/ensure_services.sh
	$(BIN)/lint-imports
	./scripts/ensure_browser.sh
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL= \
		$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) fuzz

# Schemathesis against a live server with seeded requester, worker and admin tokens
# (scripts/fuzz.py): fails on any 5xx or response the OpenAPI schema does not describe.
FUZZ_DATABASE_URL ?= $(TEST_DATABASE_URL)_fuzz
fuzz: venv
	./scripts/ensure_services.sh
	FUZZ_DATABASE_URL=$(FUZZ_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python scripts/fuzz.py

# Benchmarks (not tests): each prints JSON lines beside a baseline from the same run and
# the ratio. They drop and re-create BENCH_DATABASE_URL (its name must contain "bench"),
# flush the Redis db BENCH_REDIS_URL, start their own gunicorn / Celery / Stripe test
# server on 127.0.0.1 and stop by themselves.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/quorum_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/13
BENCH_ENV = DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL)
bench: venv
	./scripts/ensure_services.sh
	$(BENCH_ENV) $(BIN)/python bench/cycle.py
	$(BENCH_ENV) $(BIN)/python bench/cycle_instructions.py
	$(BENCH_ENV) $(BIN)/python bench/claim.py
	$(BENCH_ENV) $(BIN)/python bench/import_items.py
	$(BENCH_ENV) $(BIN)/python bench/export_results.py
	$(BIN)/python bench/aggregate.py
	$(BENCH_ENV) $(BIN)/python bench/payout_run.py

clean:
	rm -rf $(VENV) var .pytest_cache
