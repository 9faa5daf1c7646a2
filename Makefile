# Impact Engine developer entry points. `make help` lists them.
# Needs python3 (3.11+) with pip, Java 17 and Maven on PATH; uv is installed here if missing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv from PATH, else installed once by `make uv` (pip, into .cache/uv-tool; no HOME needed).
UV_VERSION := 0.13.9
UV_HOME := $(CURDIR)/.cache/uv-tool
UV ?= $(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv)
LOCAL_KAFKA := $(PYTHON) scripts/local_kafka.py
LINT_PATHS := contracts schemas kafka registry runtime services observe cli dashboard tests scripts bench docker
TYPED_PATHS := contracts schemas kafka registry runtime services observe cli dashboard tests scripts bench docker
# src layout: map each package's src/ to its import name (else mypy sees files twice).
empty :=
space := $(empty) $(empty)
export MYPYPATH := $(subst $(space),:,$(wildcard contracts/src schemas/src kafka/src registry/src runtime/src services/*/src observe/src cli/src dashboard/src))
PYTEST_ARGS ?=

.PHONY: help setup sync kafka-fetch kafka-up kafka-down kafka-status lint format test demo clean
.PHONY: uv docker-offline compose-config compose-offline-up compose-offline-down

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

setup: sync kafka-fetch ## Install the locked Python workspace and the Kafka jars

uv: ## Install uv $(UV_VERSION) with pip into .cache/uv-tool, unless uv is on PATH
	@command -v "$(UV)" >/dev/null 2>&1 || { \
		echo "uv not found: installing uv $(UV_VERSION) into $(UV_HOME) with pip"; \
		$(PYTHON) -m venv "$(UV_HOME)" >/dev/null 2>&1 \
			&& "$(UV_HOME)/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" \
			|| { rm -rf "$(UV_HOME)"; $(PYTHON) -m pip install --quiet --disable-pip-version-check \
				--target "$(UV_HOME)" "uv==$(UV_VERSION)"; }; \
		"$(UV)" --version; }

sync: uv ## Install the locked Python workspace (uv sync)
	$(UV) sync --all-packages --python $(PYTHON) --compile-bytecode

kafka-fetch: ## Download Apache Kafka's jars from Maven Central into .cache/kafka (once)
	$(LOCAL_KAFKA) fetch

kafka-up: kafka-fetch ## Start a local broker on a free port (prints its bootstrap address)
	$(LOCAL_KAFKA) start --wait
	@echo "export KAFKA_BOOTSTRAP_SERVERS=$$($(LOCAL_KAFKA) status | sed -n 's/.*bootstrap=//p')"

kafka-down: ## Stop the local broker and delete its data
	$(LOCAL_KAFKA) stop

kafka-status: ## Tell whether the local broker runs
	@$(LOCAL_KAFKA) status || true

lint: uv ## ruff format --check, ruff check and mypy
	$(UV) run ruff format --check $(LINT_PATHS)
	$(UV) run ruff check $(LINT_PATHS)
	$(UV) run mypy $(TYPED_PATHS)

format: uv ## Apply ruff's formatting and safe fixes
	$(UV) run ruff format $(LINT_PATHS)
	$(UV) run ruff check --fix $(LINT_PATHS)

# Markers `make test` runs (pytest -m); `scale` (the 100,000-initiative run, `make scale`,
# tens of minutes) and `long_wall` (tests that mostly sleep for minutes, such as the
# long-handling fault at the true 5 min poll interval: `make faults` runs them) are left out.
TEST_MARKERS ?= not scale and not long_wall

test: setup ## Run every test, the fault suite included (the fixtures start a broker unless KAFKA_BOOTSTRAP_SERVERS is set)
	@# pytest exits 5 when it collected no test: not a failure of the build.
	$(UV) run pytest -m "$(TEST_MARKERS)" $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] && exit $$rc; echo "no tests collected"; }

demo: setup ## Start Kafka, the registry and the services, publish the example manifest, print the report, stop
	$(UV) run impact demo examples/manifest.yaml

.PHONY: bench
bench: setup ## Run every benchmark once (broker, registry, services as processes); results in bench/results/
	$(UV) run python -m bench.run_all

# Docker (docs/deployment.md). With internet and Docker: `docker compose up -d`. Offline, as
# root on Debian (docker.io, debootstrap): a private engine, the compose v2 plugin and local
# stand-ins of the base images, all cached outside the clone; then host networking.
DOCKER_ENV = eval "$$($(PYTHON) scripts/docker_engine.py env)" &&
COMPOSE_OFFLINE = $(DOCKER_ENV) docker compose -f docker-compose.yml -f compose.host.yml
COMPOSE_ARGS ?= --scale measure=3 --scale evaluate=2

docker-offline: kafka-fetch ## Offline: start a private Docker engine, build the compose plugin and base images (cached)
	$(PYTHON) scripts/docker_engine.py start
	$(PYTHON) scripts/docker_engine.py compose
	$(DOCKER_ENV) $(PYTHON) scripts/docker_images.py build

compose-config: ## Validate docker-compose.yml (the host-network override, the cluster profile) with docker compose config
	$(DOCKER_ENV) docker compose config --quiet
	$(COMPOSE_OFFLINE) config --quiet
	$(DOCKER_ENV) docker compose --profile cluster config --quiet

compose-offline-up: docker-offline ## Offline: build and start the compose stack on host networking, stages scaled
	$(COMPOSE_OFFLINE) up -d --build --wait $(COMPOSE_ARGS)

compose-offline-down: ## Offline: stop the compose stack and remove its containers and volume
	$(COMPOSE_OFFLINE) down -v
.PHONY: scale
scale: setup ## Run the 100,000-initiative manifest end to end (prints per-stage times and peak RSS)
	$(UV) run pytest -m scale -s $(PYTEST_ARGS)

.PHONY: faults
faults: setup ## Run the fault-injection suite; writes its table into docs/reliability.md
	$(UV) run python scripts/fault_suite.py $(PYTEST_ARGS)

clean: ## Remove caches (keeps the Kafka jars in .cache/kafka)
	rm -rf .pytest_cache .mypy_cache .ruff_cache var
