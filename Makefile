# Impact Engine developer entry points. `make help` lists them.
# Needs python3 (3.11+), Java 17 and Maven on PATH; uv is installed by .ci/run if missing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV ?= uv
LOCAL_KAFKA := $(PYTHON) scripts/local_kafka.py
LINT_PATHS := contracts schemas runtime services cli tests scripts bench
TYPED_PATHS := contracts schemas runtime services cli tests scripts bench
# src layout: map each package's src/ to its import name (else mypy sees files twice).
empty :=
space := $(empty) $(empty)
export MYPYPATH := $(subst $(space),:,$(wildcard contracts/src schemas/src runtime/src services/*/src cli/src))
PYTEST_ARGS ?=

.PHONY: help setup sync kafka-fetch kafka-up kafka-down kafka-status lint format test demo clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

setup: sync kafka-fetch ## Install the locked Python workspace and the Kafka jars

sync: ## Install the locked Python workspace (uv sync)
	$(UV) sync --all-packages --python $(PYTHON)

kafka-fetch: ## Download Apache Kafka's jars from Maven Central into .cache/kafka (once)
	$(LOCAL_KAFKA) fetch

kafka-up: kafka-fetch ## Start a local broker on a free port (prints its bootstrap address)
	$(LOCAL_KAFKA) start --wait
	@echo "export KAFKA_BOOTSTRAP_SERVERS=$$($(LOCAL_KAFKA) status | sed -n 's/.*bootstrap=//p')"

kafka-down: ## Stop the local broker and delete its data
	$(LOCAL_KAFKA) stop

kafka-status: ## Tell whether the local broker runs
	@$(LOCAL_KAFKA) status || true

lint: ## ruff format --check, ruff check and mypy
	$(UV) run ruff format --check $(LINT_PATHS)
	$(UV) run ruff check $(LINT_PATHS)
	$(UV) run mypy $(TYPED_PATHS)

format: ## Apply ruff's formatting and safe fixes
	$(UV) run ruff format $(LINT_PATHS)
	$(UV) run ruff check --fix $(LINT_PATHS)

test: setup ## Run every test (the fixtures start a broker unless KAFKA_BOOTSTRAP_SERVERS is set)
	@# pytest exits 5 when it collected no test: not a failure of the build.
	$(UV) run pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] && exit $$rc; echo "no tests collected"; }

demo: setup ## Start Kafka, the registry and the services, publish the example manifest, print the report, stop
	$(UV) run impact demo examples/manifest.yaml

.PHONY: bench
bench: setup ## Run every benchmark once (broker, registry, services as processes); results in bench/results/
	$(UV) run python -m bench.run_all

.PHONY: faults
faults: setup ## Run the fault-injection suite; writes its table into docs/reliability.md
	$(UV) run python scripts/fault_suite.py $(PYTEST_ARGS)

clean: ## Remove caches (keeps the Kafka jars in .cache/kafka)
	rm -rf .pytest_cache .mypy_cache .ruff_cache var
