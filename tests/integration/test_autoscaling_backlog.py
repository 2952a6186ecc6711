"""A backlog of orders scales real barista containers out and, once drained, back in, on
each backend, with every order brewed exactly once (the ledger) — including orders a barista
held while the group scaled in around it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker_adapters import connect
from orchestrator.asg.store import Store
from orchestrator.clock import ScaledClock
from orchestrator.instances import Health
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.scaling import TargetTrackingConfiguration
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.server import ControlLoop
from orchestrator.time_scale import TimeScale
from services.ledger import OrderState
from tests.support.barista_group import put_barista_group
from tests.support.brokers import STARTERS
from tests.support.containers import SESSION_ID, SESSION_LABEL
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, open_shop, place_orders, service_environment

pytestmark = pytest.mark.docker

TIME_SCALE = 60.0  # one AWS minute (a datapoint period) per wall second
ORDERS = 40
TARGET = 5.0  # acceptable backlog per barista
MAX_SIZE = 4


@pytest.fixture(scope="module", params=list(STARTERS))
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    with open_shop(request.param) as opened:
        yield opened


def running(runtime: DockerRuntime, group: str) -> int:
    return sum(1 for i in runtime.instances(group) if i.health is not Health.STOPPED)


# The scaling loop reads the backlog through the adapter, whose count the contract suite checks
# on every backend: make test runs it on RabbitMQ, make test-matrix on all three.
@pytest.mark.matrix(ci="rabbitmq", param="shop")
def test_a_backlog_scales_baristas_out_and_back_in_with_no_order_lost(shop: Shop, tmp_path: Path):
    counter = Counter.fresh()
    group = f"baristas-{shop.backend}"
    orders = place_orders(shop, counter, ORDERS)
    runtime = DockerRuntime(
        labels={SESSION_LABEL: SESSION_ID},
        clock=ScaledClock(time.time(), TimeScale(TIME_SCALE)),
    )
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.1",
        "BARISTA_STOP_GRACE": "5",
    }
    stopping = threading.Event()
    with Store(tmp_path / "barista.db") as store, connect(shop.broker.url) as broker:
        put_barista_group(
            store,
            shop,
            group,
            environment,
            min_size=0,
            max_size=MAX_SIZE,
            availability_zones=("az-a", "az-b"),
            stop_timeout=15,
        )
        store.put_policy(
            ScalingPolicy(
                group,
                "backlog-per-barista",
                TargetTrackingPolicy(
                    QueueBacklogMetric(counter.queue),
                    TargetTrackingConfiguration(target_value=TARGET, estimated_instance_warmup=60),
                ),
            )
        )
        loop = ControlLoop(store.path, runtime, lambda queue: broker.backlog(queue).total)
        worker = threading.Thread(target=loop.run, args=(stopping, 0.5), daemon=True)
        worker.start()
        ledger = counter.ledger(shop)
        peak = 0

        def all_brewed() -> bool:
            nonlocal peak
            peak = max(peak, running(runtime, group))
            return all(ledger.state(o.order_id) is OrderState.BREWED for o in orders)

        try:
            assert wait_for(all_brewed, timeout=240), ledger.summary()
            assert peak >= 2, "the backlog should have brought more than one barista"
            assert wait_for(lambda: running(runtime, group) == 0, timeout=120), (
                "once the queue is drained the group should scale back in to MinSize 0"
            )
        finally:
            stopping.set()
            worker.join(timeout=60)
            for instance in runtime.instances(group):
                runtime.terminate(instance.instance_id, stop_timeout=1)
        summary = ledger.summary()
        assert (summary.accepted, summary.brewed) == (ORDERS, ORDERS)
        assert (summary.duplicates, summary.dead_lettered, summary.in_flight) == (0, 0, 0)
        assert all(ledger.brews(o.order_id) == 1 for o in orders)
        causes = [a.cause for a in store.activities(group, max_records=100)]
        assert any("AlarmHigh" in c and "backlog-per-barista" in c for c in causes)
        assert any("AlarmLow" in c for c in causes), "scale-in should come from the policy"
