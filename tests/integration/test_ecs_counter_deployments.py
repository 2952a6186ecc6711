"""The demo's counters as an ECS service behind the ALB, deployed while customers keep ordering.

The task definition and the service's settings are the demo stack's own (``stack.json``: the
service image running order-api, its health check, the circuit breaker with rollback, the
health check grace period), on Redis (broker and ledger in one container), HAProxy and the ECS
and ELB controllers at the demo's time scale. A client posts orders through the ALB's listener
the whole time:

* a new revision (an environment variable changed, as the dashboard's deploy button does)
  completes a rolling deployment without one failed request, and every order answered 202 is
  in the ledger;
* a revision whose health check always fails trips the circuit breaker: its tasks are stopped
  ("Task failed container health checks"), the deployment FAILS and rolls back to the one
  before, and still no request fails (the bad tasks served well; only their check was wrong).

About two minutes, so the default run leaves it out: ``make test-deployments`` (marker
``deployments``) runs it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter as Tally
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.demo import STACK_FILE
from orchestrator.demo.stack import load
from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.load_balancing import ElbTargetRegistry
from orchestrator.ecs.model import DeploymentConfiguration, LoadBalancer, TaskStatus
from orchestrator.ecs.revisions import Change, deploy_revision
from orchestrator.ecs.state import EcsStore
from orchestrator.elb.model import Action, HealthCheck, Protocol, TargetType
from orchestrator.time_scale import TimeScale
from tests.support.brokers import start_redis
from tests.support.containers import Credentials, stable_image
from tests.support.ecs import ecs_controller
from tests.support.load_balancing import ElbStack, elb_stack
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, service_environment

pytestmark = [pytest.mark.docker, pytest.mark.deployments, pytest.mark.timeout(600)]

SCALE = TimeScale(60)  # the demo's
HTTP_PORT = 9080
CLUSTER = "coffee-shop"
SERVICE = "order-api"
ORDER = json.dumps(
    {"customer": {"id": "c-1", "name": "Grace"}, "items": [{"item": "flat-white"}]}
).encode()


def demo_step(action: str) -> dict[str, Any]:
    """The demo stack's parameters for ``action`` (its variables filled with placeholders:
    the test gives the containers its own broker and ledger)."""
    placeholders = {"BROKER_URL": "-", "LEDGER_URL": "-", "NETWORK": "-"}
    steps = load(STACK_FILE, placeholders)
    (step,) = [s for s in steps if s.service == "ecs" and s.action == action]
    return step.params


class Customers:
    """Orders posted through the ALB on a thread, one after another; every answer counted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Tally[int] = Tally()
        self.failures: list[str] = []
        self.accepted: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _post(self) -> None:
        request = urllib.request.Request(
            self.url, ORDER, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except OSError as error:
            status, body = 0, str(error).encode()
        self.statuses[status] += 1
        if status == 202:
            self.accepted.append(json.loads(body)["order_id"])
        else:
            self.failures.append(f"{status} {body[:160]!r}")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._post()
            self._stopping.wait(0.05)

    def __enter__(self) -> Customers:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=15)


class Counters:
    """The ECS and ELB controllers' loop, run by the test while it waits on a condition."""

    def __init__(self, stack: ElbStack, ecs: EcsController, store: EcsStore) -> None:
        self.stack = stack
        self.ecs = ecs
        self.store = store

    def until(self, condition: Any, timeout: float) -> bool:
        def step() -> bool:
            self.ecs.reconcile_once()
            self.stack.controller.reconcile_once()
            return bool(condition())

        return wait_for(step, timeout=timeout, interval=0.2)

    def steady_on(self, revision: str, target_group_arn: str) -> bool:
        service = self.store.service(CLUSTER, SERVICE)
        assert service is not None
        live = self.store.tasks(cluster=CLUSTER, service=SERVICE, stopped=False)
        healthy = [s for s in self.stack.health(target_group_arn).values() if s == "healthy"]
        events = self.store.events(CLUSTER, SERVICE, limit=1)
        return (
            service.task_definition == revision
            and [d.rollout_state for d in service.deployments] == ["COMPLETED"]
            and len(live) == 2
            and all(t.task_definition == revision for t in live)
            and all(t.last_status is TaskStatus.RUNNING for t in live)
            and len(healthy) == 2
            and bool(events)
            and events[0].message == f"(service {SERVICE}) has reached a steady state."
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ElbStack]:
    with elb_stack(tmp_path, time_scale=SCALE.time_scale) as value:
        yield value


@pytest.fixture
def shop(stack: ElbStack) -> Iterator[Shop]:
    """Redis as broker and ledger, on the network the tasks and HAProxy share."""
    redis = start_redis(Credentials.generate("redis"), stack.network)
    try:
        yield Shop("redis", stack.network, redis, redis)
    finally:
        redis.container.stop()


@pytest.fixture
def counters(stack: ElbStack) -> Iterator[Counters]:
    targets = ElbTargetRegistry(stack.controller)
    with (
        ecs_controller(stack.store_path, SCALE, targets=targets, network=stack.network.name) as ecs,
        EcsStore(stack.store_path) as store,
    ):
        yield Counters(stack, ecs, store)


def the_demo_service(counters: Counters, shop: Shop, counter: Counter, tg: str) -> None:
    """The stack's task definition and service, with this test's image and environment."""
    definition = demo_step("RegisterTaskDefinition")
    (container,) = definition["containerDefinitions"]
    container["image"] = stable_image("service")
    container["environment"] = [
        {"name": name, "value": value} for name, value in service_environment(shop, counter).items()
    ]
    created = demo_step("CreateService")
    config = created["deploymentConfiguration"]
    breaker = config["deploymentCircuitBreaker"]
    store = counters.store
    operations.create_cluster(store, CLUSTER)
    operations.register_task_definition(store, definition, counters.ecs.clock())
    (balancer,) = created["loadBalancers"]
    operations.create_service(
        store,
        CLUSTER,
        SERVICE,
        str(created["taskDefinition"]),
        int(created["desiredCount"]),
        launch_type=str(created["launchType"]),
        load_balancers=[
            LoadBalancer(tg, str(balancer["containerName"]), int(balancer["containerPort"]))
        ],
        deployment_configuration=DeploymentConfiguration(
            minimum_healthy_percent=int(config["minimumHealthyPercent"]),
            maximum_percent=int(config["maximumPercent"]),
            circuit_breaker_enable=bool(breaker["enable"]),
            circuit_breaker_rollback=bool(breaker["rollback"]),
        ),
        health_check_grace_period_seconds=int(created["healthCheckGracePeriodSeconds"]),
        now=counters.ecs.clock(),
    )


def test_a_new_revision_rolls_out_and_a_failing_one_rolls_back_with_no_failed_order(
    stack: ElbStack, shop: Shop, counters: Counters
):
    # The demo's target group: /readyz every 120 s (2 s at x60), healthy after 2 checks.
    target_group = stack.elbv2.create_target_group(
        "order-api",
        Protocol.HTTP,
        8080,
        target_type=TargetType.IP,
        health_check=HealthCheck(
            path="/readyz",
            interval_seconds=120,
            timeout_seconds=60,
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        ),
    )
    tg = target_group.target_group_arn
    alb = stack.elbv2.create_load_balancer("coffee-shop")
    stack.elbv2.create_listener(
        alb.load_balancer_arn, Protocol.HTTP, HTTP_PORT, [Action.forward(tg)]
    )
    counter = Counter(queue=f"orders-{uuid.uuid4().hex[:8]}", namespace=f"test:{uuid.uuid4().hex}")
    the_demo_service(counters, shop, counter, tg)
    assert counters.until(lambda: counters.steady_on("order-api:1", tg), timeout=120)

    with Customers(stack.haproxy.url(HTTP_PORT, "/orders")) as customers:
        assert wait_for(lambda: customers.statuses[202] >= 20, timeout=30), customers.statuses
        good = deploy_revision(
            counters.store,
            CLUSTER,
            SERVICE,
            Change.ENVIRONMENT,
            now=counters.ecs.clock(),
            variable=("BARISTA_DEPLOYED_AT", "test"),
        )
        assert good.task_definition.family_revision == "order-api:2"
        started = time.monotonic()
        assert counters.until(lambda: counters.steady_on("order-api:2", tg), timeout=180)
        print(f"rolling deployment steady after {time.monotonic() - started:.0f} s")
        rolled_out = customers.statuses[202]
        assert customers.failures == [], customers.statuses

        bad = deploy_revision(
            counters.store, CLUSTER, SERVICE, Change.FAILING_HEALTH_CHECK, now=counters.ecs.clock()
        )
        assert bad.task_definition.family_revision == "order-api:3"
        started = time.monotonic()
        assert counters.until(lambda: counters.steady_on("order-api:2", tg), timeout=240)
        print(f"rolled back and steady after {time.monotonic() - started:.0f} s")
        before = sum(customers.statuses.values())
        assert wait_for(lambda: sum(customers.statuses.values()) >= before + 20, timeout=30)
    assert customers.failures == [], customers.statuses
    assert rolled_out >= 40
    assert customers.statuses[202] > rolled_out

    service = counters.store.service(CLUSTER, SERVICE)
    assert service is not None
    messages = [e.message for e in counters.store.events(CLUSTER, SERVICE)]
    assert sum("deployment failed: tasks failed to start" in m for m in messages) == 1, messages
    assert any("rolling back to deployment" in m for m in messages), messages
    broken = [
        t for t in counters.store.tasks(service=SERVICE) if t.task_definition == "order-api:3"
    ]
    assert len(broken) >= 3, "the threshold for 2 tasks is 3 (0.5 x 2, at least 3)"
    assert all(t.last_status is TaskStatus.STOPPED for t in broken)
    reasons = Tally(t.stopped_reason for t in broken)
    assert reasons["Task failed container health checks"] == 3, reasons
    # Any other task of the failed deployment was stopped by the rollback, not by its check.
    assert all(
        r.startswith("Scaling activity initiated by (deployment")
        for r in reasons
        if "failed" not in r
    ), reasons
    # Every order a customer saw accepted was recorded by order-api before it answered 202.
    ledger = counter.ledger(shop)
    assert ledger.summary().accepted == len(customers.accepted)
    assert all(ledger.state(order_id) is not None for order_id in customers.accepted[-20:])
