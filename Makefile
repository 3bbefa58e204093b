# Stockyard: local stack, tests, benchmarks and deployment. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT     := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV     := $(ROOT)/.local/venv/bin
SAM      := AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(ROOT)/.local/sam/bin/sam
INSTALL  := $(ROOT)/infra/scripts/install.sh
TOOL     := $(ROOT)/target/debug/stockyard-local
API_PORT ?= 3000
FN       ?=
# The bounded Schemathesis pass of `make test` (examples per operation and phase, two callers at a
# time; the admin caller is left to `make fuzz`). `--scoped`: the anonymous caller covers the public
# operations (27 of 130) and the customer those and the ones open to any signed-in user or to
# customers (41), which keeps a fresh-clone CI run within its 15 minutes (4 callers on every
# operation took 230 s of 951 s at 147 functions); refusing them elsewhere is the authorisation
# matrix's test. `make fuzz` runs every caller on every operation one after another with
# Schemathesis's default of 100 examples unless FUZZ_ARGS says otherwise.
FUZZ_TEST_ARGS ?= --max-examples 3 --jobs 2 --quiet --callers owner,customer,anonymous --scoped
FUZZ_ARGS ?=
EVAL_PY   := $(ROOT)/.local/eval/bin/python
EVAL_DATA := $(ROOT)/.local/eval-data
EVAL_ARGS ?=
# Binaries with unit tests. A function binary is a thin `main` over its crate's library: building
# a test harness for each of them cost a link and ~50 MB of disk apiece, for no test.
TEST_BINS := stockyard-local stockyard-eval

.PHONY: help run test fuzz bench build deploy migrate invoke lint fmt events openapi eval

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## Local stack on 127.0.0.1:$(API_PORT): emulators, every route, queues, schedules, demo data (Ctrl-C stops)
	@$(INSTALL) --with-cargo-lambda
	cargo build --workspace --bins
	$(TOOL) run --api-port $(API_PORT)

test: ## Template validation, unit, integration, end-to-end tests and a bounded Schemathesis pass against a fresh local stack on free ports
	@start=$$(date +%s); \
	$(INSTALL) --with-sam --with-schemathesis; \
	$(SAM) validate --lint --template template.yaml; \
	cargo build --workspace --bins; \
	if grep -lE '#\[(tokio::)?test' functions/*/src/bin/*.rs; then \
	  echo "make test: tests in a function binary above never run; move them into its library"; exit 1; fi; \
	targets=(--workspace --lib --test '*' $(patsubst %,--bin %,$(TEST_BINS))); \
	if cargo nextest --version >/dev/null 2>&1; then runner=(cargo nextest run "$${targets[@]}" --no-tests=warn); \
	else runner=(cargo test "$${targets[@]}"); fi; \
	"$${runner[@]}" --no-run; \
	status=0; $(TOOL) exec --no-schedules -- bash -c '"$$@"; tests=$$?; \
	  fuzz_start=$$(date +%s); python3 infra/fuzz/run.py $(FUZZ_TEST_ARGS); fuzz=$$?; \
	  echo "make test: bounded Schemathesis pass $$(( $$(date +%s) - fuzz_start ))s (exit $$fuzz)"; \
	  [ $$tests -eq 0 ] && exit $$fuzz; exit $$tests' run "$${runner[@]}" || status=$$?; \
	echo "make test: $$(( $$(date +%s) - start ))s (exit $$status)"; \
	exit $$status

fuzz: ## Schemathesis, every check, as owner, customer, admin and anonymous against a fresh local stack (FUZZ_ARGS=..)
	@start=$$(date +%s); \
	$(INSTALL) --with-schemathesis; \
	cargo build --workspace --bins; \
	status=0; $(TOOL) exec --no-schedules -- python3 infra/fuzz/run.py $(FUZZ_ARGS) || status=$$?; \
	echo "make fuzz: $$(( $$(date +%s) - start ))s (exit $$status)"; \
	exit $$status

bench: ## Cold start and size of every function, the nightly forecast and its fan-out over 200 vendors (release build; slow the first time)
	cargo build --release -p stockyard-local
	$(ROOT)/target/release/stockyard-local bench

eval: ## Forecast accuracy, calibration, replenishment and speed on M5 retail demand and a synthetic wholesaler vs statsforecast (EVAL_ARGS=..)
	@$(INSTALL) --with-eval
	@[ $(EVAL_DATA)/manifest.json -nt infra/eval/prepare.py ] || $(EVAL_PY) infra/eval/prepare.py $(ROOT)/.local/eval-cache/x $(EVAL_DATA)
	OMP_NUM_THREADS=1 $(EVAL_PY) infra/eval/statsforecast_run.py $(EVAL_DATA)
	cargo run --release -p stockyard-eval -- --write-wholesaler $(EVAL_DATA)/wholesaler
	OMP_NUM_THREADS=1 $(EVAL_PY) infra/eval/statsforecast_run.py $(EVAL_DATA)/wholesaler
	cargo run --release -p stockyard-eval -- --data $(EVAL_DATA) $(EVAL_ARGS)

build: ## Release build of every function for Lambda (arm64, provided.al2023) into target/lambda/
	@$(INSTALL) --with-cargo-lambda
	cargo build -p stockyard-local
	PATH="$(VENV):$$PATH" cargo lambda build --release --arm64 $$($(TOOL) binaries | sed 's/^/--bin /')

deploy: ## Build with cargo-lambda and deploy with AWS SAM (needs AWS credentials; first time: guided)
	@$(INSTALL) --with-sam --with-cargo-lambda
	PATH="$(VENV):$$PATH" $(ROOT)/.local/sam/bin/sam build --beta-features
	$(ROOT)/.local/sam/bin/sam deploy $$([ -f samconfig.toml ] || echo --guided)

migrate: ## Data migrations on the deployed stack, after `make deploy` (idempotent; needs AWS credentials)
	@$(INSTALL) --with-sam
	$(ROOT)/.local/sam/bin/sam remote invoke MigrateDemandReferencesFunction --event '{}' $(if $(STACK),--stack-name $(STACK))

invoke: ## Invoke one function with events/$(FN).json through a running `make run`: make invoke FN=login
	@[ -n "$(FN)" ] || { echo "usage: make invoke FN=<function>   (functions: $$(ls events | sed 's/\.json$$//' | tr '\n' ' '))"; exit 2; }
	@[ -f "events/$(FN).json" ] || { echo "no sample event events/$(FN).json"; exit 2; }
	@curl -fsS -o /dev/null "http://127.0.0.1:$(API_PORT)/_local/health" 2>/dev/null || { echo "The local stack is not running on 127.0.0.1:$(API_PORT). Start it with 'make run' in another terminal."; exit 1; }
	@[ -x "$(VENV)/cargo-lambda" ] || $(INSTALL) --with-cargo-lambda
	$(VENV)/cargo-lambda lambda invoke --invoke-address 127.0.0.1 --invoke-port $(API_PORT) --data-file "events/$(FN).json" "$(FN)"

lint: ## rustfmt check, clippy (warnings are errors), `sam validate --lint` (works offline)
	@$(INSTALL) --with-sam
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(SAM) validate --lint --template template.yaml

openapi: ## Rewrite functions/apidocs/openapi.json (served by get-openapi) from the handlers' annotations
	UPDATE_OPENAPI=1 cargo test -p stockyard-apidocs --lib committed_document

fmt: ## Format the code
	cargo fmt --all

events: ## Write events/<fn>.json for template functions that have none
	cargo build -p stockyard-local
	$(TOOL) events
