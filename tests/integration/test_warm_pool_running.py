"""A Running warm pool on real containers (marker ``lifecycle``): the warm barista is started
and connected but takes no order while its target lifecycle state (the orchestrator's instance
metadata service, reached on the shop network's gateway) says ``Warmed:Running``; once the
group takes it, the same process, never restarted, brews the order waiting on the queue."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from services.ledger import OrderState
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, open_shop, place_orders, service_environment
from tests.support.warm_pools import (
    container_of,
    group_states,
    put_warm_barista_group,
    warm_states,
)

pytestmark = [pytest.mark.docker, pytest.mark.lifecycle]

GROUP = "running-warm-baristas"


@pytest.fixture
def shop() -> Iterator[Shop]:
    with open_shop("redis") as opened:
        yield opened


@pytest.fixture
def orchestrator(tmp_path: Path, shop: Shop) -> Iterator[OrchestratorProcess]:
    network = docker.from_env().networks.get(shop.network.name)
    host = str(network.attrs["IPAM"]["Config"][0]["Gateway"])
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    running = OrchestratorProcess(
        tmp_path / "barista.db",
        port,
        host=host,
        time_scale="60",
        reconcile_interval="0.2",
        metadata_endpoint=f"http://{host}:{port}",
    )
    running.start()
    yield running
    running.stop()
    for container in group_containers(GROUP):
        container.remove(force=True)


def logged(instance_id: str, message: str) -> bool:
    return f'"message": "{message}"' in container_of(GROUP, instance_id).logs().decode(
        errors="replace"
    )


def test_a_running_warm_barista_takes_no_order_until_the_group_takes_it(
    shop: Shop, orchestrator: OrchestratorProcess
):
    counter = Counter.fresh()
    api = orchestrator.client
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.2",
        "BARISTA_WARM_POLL": "0.2",
    }
    put_warm_barista_group(api, GROUP, shop.network.name, environment, "Running")
    assert wait_for(lambda: list(warm_states(api, GROUP).values()) == ["Warmed:Running"], 90)
    (warm,) = warm_states(api, GROUP)
    # Started, connected and healthy, it asked and was told it is kept warm.
    assert wait_for(lambda: logged(warm, "kept warm: waiting to be put in service"), 30)
    started_at = container_of(GROUP, warm).attrs["State"]["StartedAt"]
    (order,) = place_orders(shop, counter)
    ledger = counter.ledger(shop)
    # Several of its polls go by: the order waits on the queue, untouched.
    assert not wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, 4)
    assert not logged(warm, "brewing")

    api.call(
        "autoscaling", "SetDesiredCapacity", {"AutoScalingGroupName": GROUP, "DesiredCapacity": 1}
    )
    assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED, 60)
    assert ledger.brews(order.order_id) == 1
    assert wait_for(lambda: group_states(api, GROUP) == {warm: "InService"}, 60)
    container = container_of(GROUP, warm)
    assert container.attrs["State"]["StartedAt"] == started_at  # the same process, never restarted
    assert logged(warm, "put in service")
    assert order.order_id in container.logs().decode(errors="replace")
