# Barista's commands. `make up` runs the live demo; `make test` runs every test. Both set up
# what they need (virtualenv, Docker engine on a Debian host, images) on a fresh machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
COMPOSE := images/compose.sh
PYTEST_ARGS ?=
BENCH_ARGS ?=
SEED_ARGS ?=

.PHONY: help up down ps logs test unit lint format images engine lock seed-history compare bench bench-adapters bench-services clean clean-test-containers e2e-all test-matrix

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e '.[dev]'
	touch $@

engine: ## make sure a Docker engine answers (installs and starts one on a Debian host, as root) and Compose v2+
	images/ensure-engine.sh
	images/ensure-compose.sh

images: engine $(VENV)/.installed ## pull or build every image (BARISTA_IMAGE_SOURCE=auto|official|local)
	$(VENV_PY) images/build.py

# A new .env from .env.example with fresh random secrets; an older .env gains only the API
# access key lines it lacks (images/make-env.py).
.env: .env.example
	@$(PYTHON) images/make-env.py .env.example .env
	@touch .env

# BACKEND=kafka|rabbitmq|redis picks the broker the baristas use (default: .env's, else
# rabbitmq); images/compose.sh turns it into the compose profile, so only that broker starts.
ifneq ($(strip $(BACKEND)),)
export BACKEND
endif
# The compose project (images/compose.sh's default); the orchestrator labels its workers with it.
PROJECT = $${COMPOSE_PROJECT_NAME:-barista}
WORKERS = label=barista.compose-project=$(PROJECT)
DEMO_WAIT ?= 300
DEMO_STACK ?= orchestrator/demo/stack.json

# CLUSTER=N (make up CLUSTER=3): the stack runs on the manager of a local Docker Swarm of N nodes
# (images/cluster.sh demo-up), its instances across the nodes' zones (docs/swarm.md); images/
# compose.sh then finds the stack there, for every target below. Without CLUSTER nothing changes.
DEMO_CLUSTER_STACK ?= orchestrator/demo/cluster.json

up: images .env $(if $(strip $(CLUSTER)),images-cluster) ## the live demo (BACKEND=kafka|rabbitmq|redis; CLUSTER=3 on a local Swarm): stack, demo groups and ALB, then its URLs
	$(if $(strip $(CLUSTER)),images/cluster.sh demo-up $(CLUSTER) $(PROJECT))
	$(COMPOSE) up -d --remove-orphans
	WAIT_SECONDS=$(DEMO_WAIT) images/wait-healthy.sh
	$(VENV)/bin/barista demo apply $(DEMO_STACK) --wait $(DEMO_WAIT)
	$(if $(strip $(CLUSTER)),$(VENV)/bin/barista demo apply $(DEMO_CLUSTER_STACK) --wait $(DEMO_WAIT))
	@echo
	@$(VENV)/bin/barista demo urls

down: ## stop the demo; remove its containers (and the orchestrator's workers), networks, volumes, and the cluster of make up CLUSTER=N
	@# The cluster make up CLUSTER=N made holds the whole stack: removing its nodes removes it.
	images/cluster.sh demo-down $(PROJECT)
	$(COMPOSE) stop orchestrator
	docker ps -aq --filter "$(WORKERS)" | xargs -r docker rm -f
	COMPOSE_PROFILES=all-brokers $(COMPOSE) down --volumes --remove-orphans
	@# Compose v2 does not recognise a network v1 made (it labels networks differently), so a
	@# stack started with one flavour and stopped with the other would leave it: remove by label.
	docker network ls -q --filter "label=com.docker.compose.project=$(PROJECT)" | xargs -r docker network rm

ps: ## the demo stack's containers and their health, and the orchestrator's workers
	$(COMPOSE) ps
	@docker ps -a --filter "$(WORKERS)" \
	  --format 'table {{.Names}}\t{{.Label "barista.group"}}\t{{.Status}}'
	@# After make up CLUSTER=N the workers are Swarm services: their running tasks, by node.
	@export DOCKER_HOST=$$(images/cluster.sh demo-api $(PROJECT)); \
	services=$$([[ -z $$DOCKER_HOST ]] || docker service ls -q --filter "$(WORKERS)"); \
	if [[ -n $$services ]]; then \
	  docker service ps --filter desired-state=running \
	    --format 'table {{.Name}}\t{{.Node}}\t{{.CurrentState}}' $$services; \
	fi

logs: ## follow the demo stack's logs (the workers': docker logs NAME, names from make ps)
	$(COMPOSE) logs --follow --tail=100

test: images ## every test: unit, integration (real brokers) and e2e (the compose stack)
	$(VENV)/bin/pytest --durations=25 $(PYTEST_ARGS)

test-matrix: images ## every backend for the tests make test runs on one (marker matrix: API layers the brokers share)
	$(VENV)/bin/pytest -m matrix $(PYTEST_ARGS)

unit: $(VENV)/.installed ## the unit tests only (no Docker)
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

lint: $(VENV)/.installed ## ruff (lint and format check) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict images/build.py

format: $(VENV)/.installed ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: $(VENV)/.installed ## re-resolve the service image's dependencies for its Python (3.13)
	$(VENV)/bin/uv pip compile pyproject.toml --quiet --generate-hashes \
	  --python-version 3.13 --python-platform x86_64-manylinux_2_28 \
	  -o images/service/requirements.lock

seed-history: ## give the demo's orders queue 3 days of the shop's daily pattern (predictive scaling needs 24 h): SEED_ARGS='--days 7'
	$(COMPOSE) exec -T --user barista orchestrator barista seed-history $(SEED_ARGS)

compare: engine $(VENV)/.installed .env ## SNS vs SQS, observed: starts only the three brokers, runs `barista compare` through the adapters, then through the SQS/SNS APIs
	@docker image inspect barista/kafka:latest barista/rabbitmq:latest barista/redis:latest \
	  >/dev/null 2>&1 || $(MAKE) images
	COMPOSE_PROFILES=all-brokers $(COMPOSE) up -d kafka rabbitmq redis
	COMPOSE_PROFILES=all-brokers images/wait-healthy.sh
	$(VENV)/bin/barista compare --backend all --update docs/compare.md
	$(VENV)/bin/barista compare --backend all --through aws-api --update docs/compare.md

bench: bench-adapters bench-services bench-elb bench-autoscaling bench-high-resolution bench-ecs bench-sqs ## every benchmark; tables go to BENCHMARKS.md

bench-adapters: images ## native tool, raw client and adapter msg/s per backend (BENCH_ARGS=--messages N --no-native ...)
	$(VENV_PY) -m tests.bench.adapters $(BENCH_ARGS)

bench-services: images ## order-api req/s and accepted->ready latency per backend (needs wrk)
	$(VENV_PY) -m tests.bench.services $(BENCH_ARGS)

.PHONY: bench-autoscaling
bench-autoscaling: images ## breach -> new barista consuming (p50/p95), reconcile pass with 50/200 instances
	$(VENV_PY) -m tests.bench.autoscaling $(BENCH_ARGS)

.PHONY: bench-high-resolution
bench-high-resolution: images ## breach -> desired capacity at time_scale 1 with a 10-second target tracking metric
	$(VENV_PY) -m tests.bench.high_resolution $(BENCH_ARGS)

.PHONY: bench-elb
bench-elb: images ## wrk straight to order-api replicas vs through the ALB (needs wrk)
	$(VENV_PY) -m tests.bench.elb $(BENCH_ARGS)

.PHONY: bench-ecs
bench-ecs: images ## ECS rolling deployment of N tasks, task RUNNING -> healthy p50/p95
	$(VENV_PY) -m tests.bench.ecs $(BENCH_ARGS)

.PHONY: bench-sqs
bench-sqs: images ## boto3 SQS send/receive/delete msg/s: Barista per backend vs moto_server
	$(VENV_PY) -m tests.bench.sqs $(BENCH_ARGS)

.PHONY: test-spot-load
test-spot-load: images ## Spot interruptions under load: a mixed group of real baristas, orders flowing, pools reclaimed twice; the ledger loses none (every backend, not in make test)
	$(VENV)/bin/pytest -m spot_load tests/integration/test_spot_ledger_docker.py $(PYTEST_ARGS)

.PHONY: test-deployments
test-deployments: images ## the demo's counters (an ECS service) deployed under load: a rolling deployment, then a failing revision rolled back (not in make test)
	$(VENV)/bin/pytest -m deployments tests/integration/test_ecs_counter_deployments.py $(PYTEST_ARGS)

.PHONY: screenshots
screenshots: $(VENV)/.installed ## retake the README's dashboard and pickup-board pictures from the running demo (make up first)
	$(VENV)/bin/python -m tests.support.screenshots

.PHONY: test-lifecycle
test-lifecycle: images ## instance refresh behind the ALB under wrk (no failed request, MinHealthyPercentage, rollback); a Running warm pool's barista waits for InService (not in make test)
	$(VENV)/bin/pytest -m lifecycle tests/integration/test_instance_refresh.py tests/integration/test_warm_pool_running.py $(PYTEST_ARGS)

.PHONY: test-predictive
test-predictive: images ## predictive scaling vs target tracking alone through a compressed morning rush, on real containers (not in make test)
	$(VENV)/bin/pytest -m predictive tests/integration/test_predictive_scaling.py $(PYTEST_ARGS)

.PHONY: faults
faults: images ## every fault scenario x backend (SIGKILL, partitions, slow broker...); table to FAULTS.md
	$(VENV_PY) -m tests.faults.report $(PYTEST_ARGS)

.PHONY: images-cluster cluster cluster-down test-swarm
images-cluster: images ## the Swarm node image too (make cluster needs it; make images leaves it out)
	$(VENV_PY) images/build.py node

# CLUSTER=N nodes (3 unless given), one manager; docs/swarm.md. The settings it prints point the
# orchestrator at it.
cluster: images-cluster ## a local Docker Swarm of CLUSTER=3 nodes in containers, zones az-a/b/c, images loaded
	images/cluster.sh up $(or $(strip $(CLUSTER)),3)

cluster-down: ## remove the local Swarm's nodes and everything on them
	images/cluster.sh down

test-swarm: images-cluster ## Auto Scaling and ECS across the zones of a 3-node local Swarm, node loss under load and return; make up CLUSTER=3 (marker swarm; not in make test)
	$(VENV)/bin/pytest -m swarm tests/integration/test_swarm.py tests/e2e/test_demo_cluster.py $(PYTEST_ARGS)

e2e-all: images ## the live-demo e2e test on each backend (Kafka in both queue modes) with Compose v2+, and on RabbitMQ with v1 (make test: RabbitMQ, v2+)
	for backend in kafka rabbitmq redis; do \
	  BARISTA_E2E_BACKEND=$$backend $(VENV)/bin/pytest tests/e2e/test_demo_stack.py $(PYTEST_ARGS) || exit 1; \
	done
	BARISTA_E2E_BACKEND=kafka BARISTA_E2E_KAFKA_QUEUE_MODE=share-group $(VENV)/bin/pytest tests/e2e/test_demo_stack.py $(PYTEST_ARGS)
	BARISTA_COMPOSE=v1 BARISTA_E2E_BACKEND=rabbitmq $(VENV)/bin/pytest tests/e2e/test_demo_stack.py $(PYTEST_ARGS)

clean-test-containers: ## remove containers a killed test run left behind (by their label)
	docker ps -aq --filter label=barista.test-session | xargs -r docker rm -f

clean: ## remove the virtualenv and build caches (images stay)
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
