"""An ECS service behind an ALB: tasks registered by IP, a rolling deployment under steady
traffic completes without one failed request (drain before stop, healthy before old out)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.load_balancing import ElbRequestCounter, ElbTargetRegistry
from orchestrator.ecs.model import LoadBalancer, TaskStatus
from orchestrator.ecs.state import EcsStore
from orchestrator.elb.model import Action, Protocol, TargetType
from orchestrator.time_scale import TimeScale
from tests.support.containers import stable_image
from tests.support.ecs import ecs_controller
from tests.support.load_balancing import FAST_CHECK, ElbStack, get
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

SCALE = TimeScale(10)
HTTP_PORT = 9080


def definition(revision_note: str) -> dict[str, object]:
    return {
        "family": "counter",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": stable_image("service"),
                "command": ["serve", "health"],
                "environment": [{"name": "REVISION_NOTE", "value": revision_note}],
                "portMappings": [{"containerPort": 8080}],
                "stopTimeout": 5,
            }
        ],
    }


@pytest.fixture
def ecs(stack: ElbStack) -> Iterator[EcsController]:
    targets = ElbTargetRegistry(stack.controller)
    with ecs_controller(stack.store_path, SCALE, targets=targets, network=stack.network.name) as c:
        yield c


class Traffic:
    """Steady requests through the listener on a thread; every answer's status is counted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            status, body = get(self.url, timeout=5)
            self.statuses[status] += 1
            if status != 200:
                self.failures.append(f"{status} {body[:120]}")
            self._stopping.wait(0.02)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)


def test_rolling_deployment_under_traffic_through_the_alb_fails_no_request(
    stack: ElbStack, ecs: EcsController
):
    target_group = stack.elbv2.create_target_group(
        "counter", Protocol.HTTP, 8080, target_type=TargetType.IP, health_check=FAST_CHECK
    )
    arn = target_group.target_group_arn
    stack.elbv2.modify_target_group_attributes(arn, {"deregistration_delay.timeout_seconds": "30"})
    load_balancer = stack.elbv2.create_load_balancer("counter")
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn, Protocol.HTTP, HTTP_PORT, [Action.forward(arn)]
    )
    with EcsStore(stack.store_path) as store:
        operations.create_cluster(store, "shop")
        operations.register_task_definition(store, definition("one"), ecs.clock())
        operations.register_task_definition(store, definition("two"), ecs.clock())
        operations.create_service(
            store,
            "shop",
            "counter",
            "counter:1",
            2,
            load_balancers=[LoadBalancer(arn, "app", 8080)],
            # As in AWS: without a grace period a task whose app is still booting fails the
            # target group's checks (connection refused) and is replaced.
            health_check_grace_period_seconds=120,
            now=ecs.clock(),
        )

        def reconcile() -> None:
            ecs.reconcile_once()
            stack.controller.reconcile_once()

        def steady_on(revision: str) -> bool:
            reconcile()
            service = store.service("shop", "counter")
            assert service is not None
            live = [t for t in store.tasks(service="counter", stopped=False)]
            events = store.events("shop", "counter", limit=1)
            healthy = [s for s in stack.health(arn).values() if s == "healthy"]
            return (
                [d.rollout_state for d in service.deployments] == ["COMPLETED"]
                and service.task_definition == revision
                and len(live) == 2
                and all(t.task_definition == revision for t in live)
                and len(healthy) == 2
                and bool(events)
                and events[0].message == "(service counter) has reached a steady state."
            )

        assert wait_for(lambda: steady_on("counter:1"), timeout=90)
        first = {t.task_id for t in store.tasks(service="counter", stopped=False)}
        with Traffic(stack.haproxy.url(HTTP_PORT, "/healthz")) as traffic:
            assert wait_for(lambda: traffic.statuses[200] >= 20, timeout=30)
            operations.update_service(
                store, "shop", "counter", task_definition="counter:2", now=ecs.clock()
            )
            assert wait_for(lambda: steady_on("counter:2"), timeout=180)
            before = sum(traffic.statuses.values())
            assert wait_for(lambda: sum(traffic.statuses.values()) >= before + 20, timeout=30)
        assert traffic.failures == [], traffic.statuses
        # ALBRequestCountPerTarget's counter: the target group's backend counts the requests.
        counted = ElbRequestCounter(stack.controller).request_count(arn)
        assert counted is not None
        assert counted > 0
        assert traffic.statuses[200] >= 60
        old = [store.task(task_id) for task_id in first]
        assert all(t is not None and t.last_status is TaskStatus.STOPPED for t in old)
        assert all(t is not None and t.stopped_reason.startswith("Scaling activity") for t in old)
        failed = [t for t in store.tasks(service="counter") if t.task_id not in first]
        assert not [t.stopped_reason for t in failed if t.stopped_reason], "no task replaced"
