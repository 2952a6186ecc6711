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

.PHONY: help up down ps logs test unit lint format images engine lock compare bench bench-adapters bench-services clean clean-test-containers

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e '.[dev]'
	touch $@

engine: ## make sure a Docker engine answers (installs and starts one on a Debian host, as root)
	images/ensure-engine.sh

images: engine $(VENV)/.installed ## pull or build every image (BARISTA_IMAGE_SOURCE=auto|official|local)
	$(VENV_PY) images/build.py

.env:
	$(PYTHON) -c 'import secrets, pathlib; text = pathlib.Path(".env.example").read_text(); \
	lines = [l.replace("change-me", secrets.token_urlsafe(18)) for l in text.splitlines()]; \
	pathlib.Path(".env").write_text("\n".join(lines) + "\n")'
	@echo "made .env with fresh random passwords"

up: images .env ## start the demo stack and wait until it is healthy
	$(COMPOSE) up -d --remove-orphans
	images/wait-healthy.sh
	@source .env; \
	echo; \
	echo "Barista is up: Kafka, RabbitMQ, Redis and HAProxy are running and healthy."; \
	echo "The services (barista serve ...) are built into barista/service:latest; the"; \
	echo "orchestrator that runs them, and the dashboard, arrive with later issues."; \
	echo "  Kafka (SASL/PLAIN)     127.0.0.1:$${KAFKA_PORT:-9092}"; \
	echo "  RabbitMQ (AMQP)        amqp://127.0.0.1:$${RABBITMQ_PORT:-5672}"; \
	echo "  RabbitMQ management    http://127.0.0.1:$${RABBITMQ_MANAGEMENT_PORT:-15672}/"; \
	echo "  Redis                  127.0.0.1:$${REDIS_PORT:-6379}"; \
	echo "  ALB (HAProxy)          http://127.0.0.1:$${ALB_PORT:-8080}/"; \
	echo "  HAProxy stats          http://127.0.0.1:$${HAPROXY_STATS_PORT:-8404}/stats"; \
	echo "Credentials are in .env."

down: ## stop the demo stack and remove its containers, networks and volumes
	$(COMPOSE) down --volumes --remove-orphans

ps: ## the demo stack's containers and their health
	$(COMPOSE) ps

logs: ## follow the demo stack's logs
	$(COMPOSE) logs --follow --tail=100

test: images ## every test: unit, integration (real brokers) and e2e (the compose stack)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

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

compare: engine $(VENV)/.installed .env ## SNS vs SQS, observed: starts only the three brokers, runs `barista compare`
	@docker image inspect barista/kafka:latest barista/rabbitmq:latest barista/redis:latest \
	  >/dev/null 2>&1 || $(MAKE) images
	$(COMPOSE) up -d kafka rabbitmq redis
	images/wait-healthy.sh
	$(VENV)/bin/barista compare --backend all

bench: bench-adapters bench-services bench-elb bench-autoscaling ## every benchmark; tables go to BENCHMARKS.md

bench-adapters: images ## adapter vs raw client msg/s per backend (BENCH_ARGS=--messages N ...)
	$(VENV_PY) -m tests.bench.adapters $(BENCH_ARGS)

bench-services: images ## order-api req/s and accepted->ready latency per backend (needs wrk)
	$(VENV_PY) -m tests.bench.services $(BENCH_ARGS)

.PHONY: bench-autoscaling
bench-autoscaling: images ## breach -> new barista consuming (p50/p95), reconcile pass with 50/200 instances
	$(VENV_PY) -m tests.bench.autoscaling $(BENCH_ARGS)

.PHONY: bench-elb
bench-elb: images ## wrk straight to order-api replicas vs through the ALB (needs wrk)
	$(VENV_PY) -m tests.bench.elb $(BENCH_ARGS)

clean-test-containers: ## remove containers a killed test run left behind (by their label)
	docker ps -aq --filter label=barista.test-session | xargs -r docker rm -f

clean: ## remove the virtualenv and build caches (images stay)
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
