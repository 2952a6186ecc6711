"""A warm pool on real containers: ``barista serve orchestrator`` keeps a stopped barista
beside an empty group (its container exited, kept); the group scales out, and that very
container starts again, goes InService and brews the order waiting on the queue, while the
pool refills with a new stopped barista. The ledger says: brewed once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ledger import OrderState
from tests.support.containers import free_loopback_port
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, open_shop, place_orders, service_environment
from tests.support.warm_pools import (
    container_of,
    group_states,
    put_warm_barista_group,
    warm_states,
)

pytestmark = pytest.mark.docker

GROUP = "warm-baristas"


@pytest.fixture
def shop() -> Iterator[Shop]:
    with open_shop("redis") as opened:
        yield opened


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[OrchestratorProcess]:
    running = OrchestratorProcess(
        tmp_path / "barista.db", free_loopback_port(), time_scale="60", reconcile_interval="0.2"
    )
    running.start()
    yield running
    running.stop()
    for container in group_containers(GROUP):
        container.remove(force=True)


def test_a_stopped_warm_barista_goes_in_service_and_brews_on_scale_out(
    shop: Shop, orchestrator: OrchestratorProcess
):
    counter = Counter.fresh()
    api = orchestrator.client
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.2",
    }
    put_warm_barista_group(api, GROUP, shop.network.name, environment, "Stopped")
    assert wait_for(lambda: list(warm_states(api, GROUP).values()) == ["Warmed:Stopped"], 90)
    (warm,) = warm_states(api, GROUP)
    assert wait_for(lambda: container_of(GROUP, warm).status == "exited", 30)
    (order,) = place_orders(shop, counter)  # nobody runs to take it yet
    ledger = counter.ledger(shop)

    api.call(
        "autoscaling", "SetDesiredCapacity", {"AutoScalingGroupName": GROUP, "DesiredCapacity": 1}
    )
    assert wait_for(lambda: group_states(api, GROUP) == {warm: "InService"}, 60)
    assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, 60)
    assert ledger.brews(order.order_id) == 1
    container = container_of(GROUP, warm)  # the same container, started again
    container.reload()
    assert container.status == "running"
    logs = container.logs().decode(errors="replace")
    assert order.order_id in logs
    # The pool refilled with a new stopped barista beside the one it gave.
    assert wait_for(
        lambda: (
            list(warm_states(api, GROUP).values()) == ["Warmed:Stopped"]
            and warm not in warm_states(api, GROUP)
        ),
        90,
    )
    activities = api.call(
        "autoscaling", "DescribeScalingActivities", {"AutoScalingGroupName": GROUP}
    )["Activities"]
    assert any(
        a["Description"] == f"Launching a new EC2 instance from warm pool: {warm}"
        for a in activities
    )
