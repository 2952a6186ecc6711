"""Spot interruptions under load lose no order: a mixed Auto Scaling group of real baristas
(1 On-Demand, 3 Spot over two instance types) on a shop queue, ``barista serve orchestrator``
on the shop's network, orders flowing the whole time while EC2 takes the Spot capacity back
twice. Each wave reclaims both Spot pools: every Spot barista reads its two-minute notice
through its metadata endpoint, stops taking orders, finishes the cup in hand, and is stopped
at the deadline; the group replaces it once the pools have room again. At the end the ledger
shows every accepted order brewed, none lost or dead-lettered, and the duplicates (a
redelivery brewed twice) are counted, per order, equal to the ledger's own count.

About 45 s per backend, so it is left out of ``make test``: ``make test-spot-load`` runs it
on every backend (marker ``spot_load``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from orchestrator.asg.store import Store
from orchestrator.instances import LABEL_GROUP
from orchestrator.server import control_plane_clock
from orchestrator.spot.model import Pool
from orchestrator.spot.store import SpotStore
from services.ledger import OrderState
from tests.support.brokers import STARTERS
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for
from tests.support.shop import Counter, OrderFlow, Shop, open_shop, service_environment

pytestmark = [pytest.mark.docker, pytest.mark.spot_load]

GROUP = "spot-shift"
ZONE = "az-load"
TYPES = ("t3.micro", "t3.small")
TIME_SCALE = 20.0  # two AWS minutes of notice are 6 wall seconds
RECLAIM_AWS_SECONDS = 160  # 8 wall seconds: the replacements wait for the pools' room
ORDERS_PER_TICK = 5
TICK = 0.5  # wall seconds: 10 orders a second, about what four baristas brew
NOTICE_LINE = "spot interruption notice"


@pytest.fixture(params=list(STARTERS))
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    with open_shop(request.param) as opened:
        yield opened


def _gateway(shop: Shop) -> str:
    """The host's address on the shop's network: where the containers reach the API."""
    network = docker.from_env().networks.get(shop.network.name)
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


@pytest.fixture
def orchestrator(tmp_path: Path, shop: Shop) -> Iterator[OrchestratorProcess]:
    host = _gateway(shop)
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    running = OrchestratorProcess(
        tmp_path / "barista.db",
        port,
        host=host,
        time_scale=str(TIME_SCALE),
        reconcile_interval="0.2",
        metadata_endpoint=f"http://{host}:{port}",
        # Nobody else in the pools: only the reclaims take capacity away.
        spot_demand="0",
        spot_demand_swing="0",
        spot_noise="0",
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for container in group_containers(GROUP):
            container.remove(force=True)


def _running() -> list[Container]:
    found = docker.from_env().containers.list(
        filters={"label": [f"{SESSION_LABEL}={SESSION_ID}", f"{LABEL_GROUP}={GROUP}"]},
        ignore_removed=True,
    )
    return [c for c in found if c.status == "running"]


def _in_service(orchestrator: OrchestratorProcess) -> int:
    (group,) = orchestrator.client.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [GROUP]}
    )["AutoScalingGroups"]
    return sum(1 for i in group["Instances"] if i["LifecycleState"] == "InService")


def _reclaim_both_pools(orchestrator: OrchestratorProcess) -> None:
    """What the dashboard's control does, on the orchestrator's own store and clock."""
    state = Path(orchestrator.environment["BARISTA_STATE_PATH"])
    with Store(state) as store:
        now = control_plane_clock(store, TIME_SCALE)()
    with SpotStore(state) as spot:
        for instance_type in TYPES:
            spot.reclaim(Pool(instance_type, ZONE), now + RECLAIM_AWS_SECONDS)


def _logs(container: Container) -> str:
    try:
        return str(container.logs().decode(errors="replace"))
    except docker.errors.NotFound:
        return ""


def _create_group(orchestrator: OrchestratorProcess, shop: Shop, counter: Counter) -> None:
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": "0.2",
        "BARISTA_STOP_GRACE": "1",
        "BARISTA_LIFECYCLE_POLL": "0.5",  # how often a barista asks for its Spot notice
    }
    orchestrator.client.call(
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": GROUP,
            "LaunchTemplateData": {
                "ImageId": stable_image("service"),
                "InstanceType": TYPES[0],
                "BaristaContainer": {
                    "Command": ["serve", "barista"],
                    "Environment": environment,
                    "Network": shop.network.name,
                    "StopTimeout": 5,
                },
            },
        },
    )
    orchestrator.client.call(
        "autoscaling",
        "CreateAutoScalingGroup",
        {
            "AutoScalingGroupName": GROUP,
            "MinSize": 0,
            "MaxSize": 8,
            "DesiredCapacity": 4,
            "AvailabilityZones": [ZONE],
            "MixedInstancesPolicy": {
                "LaunchTemplate": {
                    "LaunchTemplateSpecification": {"LaunchTemplateName": GROUP},
                    "Overrides": [{"InstanceType": t} for t in TYPES],
                },
                "InstancesDistribution": {
                    "OnDemandBaseCapacity": 1,
                    "OnDemandPercentageAboveBaseCapacity": 0,
                    "SpotAllocationStrategy": "lowest-price",
                    "SpotInstancePools": 2,
                },
            },
        },
    )


def _wave(orchestrator: OrchestratorProcess, flow: OrderFlow) -> list[dict[str, Any]]:
    """Reclaim both pools while orders flow; every Spot barista reads its notice, then stops.
    What each saw: its logs up to the stop, and how many orders had been placed by then."""
    spot = [c for c in _running() if c.labels["barista.lifecycle"] == "spot"]
    assert len(spot) == 3, [c.labels for c in _running()]
    _reclaim_both_pools(orchestrator)
    seen: dict[str, dict[str, Any]] = {}

    def all_stopped() -> bool:
        running = {c.id for c in _running()}
        for container in spot:
            if container.id in running:
                seen[container.id] = {"logs": _logs(container), "placed": len(flow.placed)}
        return not any(c.id in running for c in spot)

    assert wait_for(all_stopped, timeout=40, interval=0.2), "the Spot baristas should stop"
    return list(seen.values())


def test_interruptions_under_load_lose_no_order(
    shop: Shop, orchestrator: OrchestratorProcess
) -> None:
    counter = Counter.fresh()
    _create_group(orchestrator, shop, counter)
    assert wait_for(lambda: _in_service(orchestrator) == 4, timeout=120)
    markets = sorted(c.labels["barista.lifecycle"] for c in _running())
    assert markets == ["on-demand", "spot", "spot", "spot"]
    ledger = counter.ledger(shop)
    flow = OrderFlow(shop, counter, ORDERS_PER_TICK, TICK)
    flow.start()
    started = time.monotonic()
    try:
        assert wait_for(lambda: len(flow.placed) >= 20, timeout=30)
        first = _wave(orchestrator, flow)
        # Back to four once the pools have room: the group buys Spot again.
        assert wait_for(lambda: _in_service(orchestrator) == 4, timeout=90)
        assert wait_for(lambda: len(_running()) == 4, timeout=30)
        second = _wave(orchestrator, flow)
        placed_during = len(flow.placed)
    finally:
        flow.done.set()
        flow.join(timeout=30)
    assert flow.error is None, repr(flow.error)
    placed = list(flow.placed)
    flowed = time.monotonic() - started
    for stopped in (*first, *second):
        # Each read its notice inside its container while the orders kept coming.
        assert NOTICE_LINE in stopped["logs"], stopped["logs"][-2000:]
    assert placed_during > 20
    assert any('"brewing"' in s["logs"] for s in (*first, *second)), "Spot baristas brewed"

    def settled() -> bool:
        summary = ledger.summary()
        return summary.in_flight == 0 and summary.accepted == len(placed)

    assert wait_for(settled, timeout=120, interval=0.5), ledger.summary()
    summary = ledger.summary()
    assert summary.accepted == len(placed)
    assert summary.brewed == len(placed), "every accepted order brewed"
    assert summary.dead_lettered == 0
    assert all(ledger.state(order_id) is OrderState.BREWED for order_id in placed)
    duplicates = sum(max(0, ledger.brews(order_id) - 1) for order_id in placed)
    assert duplicates == summary.duplicates
    print(
        f"{shop.backend}: {len(placed)} orders over {flowed:.1f} s, 6 Spot interruptions, "
        f"brewed {summary.brewed}, lost 0, duplicates {summary.duplicates}"
    )
