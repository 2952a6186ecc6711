"""A scale-in never kills a busy barista: an Auto Scaling group of real barista containers
with a terminate lifecycle hook, ``barista serve orchestrator`` on the shop's network, and
one long order. The group scales in while the order brews; the barista stays in
Terminating:Wait, finishes the cup, completes the hook itself (signed, through the
orchestrator's AWS API), and only then is it stopped. The ledger says: brewed once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from services.ledger import OrderState
from tests.support.aws_auth import KEY_ID, SECRET
from tests.support.containers import stable_image
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for
from tests.support.shop import Counter, Shop, open_shop, place_orders, service_environment

pytestmark = pytest.mark.docker

GROUP = "hooked-baristas"
HOOK = "finish-the-cup"
BREW_SECONDS_PER_UNIT = 12  # a flat white takes 12 s: the scale-in lands mid-brew
HEARTBEAT_TIMEOUT = 7200  # AWS seconds: 120 wall seconds at time scale 60, never reached here


@pytest.fixture
def shop() -> Iterator[Shop]:
    with open_shop("redis") as opened:
        yield opened


def gateway(shop: Shop) -> str:
    """The host's address on the shop's network: where the containers reach the API."""
    network = docker.from_env().networks.get(shop.network.name)
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


@pytest.fixture
def orchestrator(tmp_path: Path, shop: Shop) -> Iterator[OrchestratorProcess]:
    import socket  # noqa: PLC0415

    host = gateway(shop)
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    running = OrchestratorProcess(
        tmp_path / "barista.db", port, host=host, time_scale="60", reconcile_interval="0.2"
    )
    running.start()
    yield running
    running.stop()
    for container in group_containers(GROUP):
        container.remove(force=True)


def lifecycle_states(api: Any) -> dict[str, str]:
    (described,) = api.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [GROUP]}
    )["AutoScalingGroups"]
    return {i["InstanceId"]: i["LifecycleState"] for i in described["Instances"]}


def running_ids() -> set[str]:
    return {
        c.labels["barista.instance-id"] for c in group_containers(GROUP) if c.status == "running"
    }


def test_a_scale_in_waits_for_the_busy_barista_to_finish_its_order(
    shop: Shop, orchestrator: OrchestratorProcess
):
    counter = Counter.fresh()
    api = orchestrator.client
    environment = {
        **service_environment(shop, counter),
        "BARISTA_BREW_SECONDS_PER_UNIT": str(BREW_SECONDS_PER_UNIT),
        "BARISTA_STOP_GRACE": "1",  # a plain SIGTERM mid-brew would hand the order back
        "BARISTA_LIFECYCLE_HOOK": HOOK,
        "BARISTA_AWS_ENDPOINT": orchestrator.url,
        "BARISTA_ACCESS_KEY_ID": KEY_ID,
        "BARISTA_SECRET_ACCESS_KEY": SECRET,
        "BARISTA_LIFECYCLE_POLL": "0.5",
    }
    api.call(
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": GROUP,
            "LaunchTemplateData": {
                "ImageId": stable_image("service"),
                "BaristaContainer": {
                    "Command": ["serve", "barista"],
                    "Environment": environment,
                    "Network": shop.network.name,
                    "StopTimeout": 10,
                },
            },
        },
    )
    api.call(
        "autoscaling",
        "CreateAutoScalingGroup",
        {
            "AutoScalingGroupName": GROUP,
            "LaunchTemplate": {"LaunchTemplateName": GROUP},
            "AvailabilityZones": ["az-a"],
            "MinSize": 0,
            "MaxSize": 1,
            "DesiredCapacity": 1,
        },
    )
    api.call(
        "autoscaling",
        "PutLifecycleHook",
        {
            "AutoScalingGroupName": GROUP,
            "LifecycleHookName": HOOK,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "HeartbeatTimeout": HEARTBEAT_TIMEOUT,
            "DefaultResult": "ABANDON",
        },
    )
    assert wait_for(lambda: list(lifecycle_states(api).values()) == ["InService"], timeout=90)
    (barista,) = lifecycle_states(api)
    (container,) = group_containers(GROUP)
    (order,) = place_orders(shop, counter)
    ledger = counter.ledger(shop)

    def brewing() -> bool:
        logs = container.logs().decode(errors="replace")
        return order.order_id in logs and '"brewing"' in logs

    assert wait_for(brewing, timeout=60), container.logs().decode(errors="replace")[-2000:]
    api.call(
        "autoscaling", "SetDesiredCapacity", {"AutoScalingGroupName": GROUP, "DesiredCapacity": 0}
    )
    assert wait_for(lambda: lifecycle_states(api).get(barista) == "Terminating:Wait", 30)
    held_at = time.monotonic()
    # Held while the cup brews: still running, order not yet brewed.
    assert barista in running_ids()
    assert ledger.state(order.order_id) is not OrderState.BREWED

    brewed_while_running: list[bool] = []

    def gone() -> bool:
        if barista in running_ids():
            brewed_while_running[:] = [ledger.state(order.order_id) is OrderState.BREWED]
            return False
        return True

    assert wait_for(gone, timeout=90)
    released_after = time.monotonic() - held_at
    print(f"Terminating:Wait → stopped: {released_after:.1f} s (brew {BREW_SECONDS_PER_UNIT} s)")
    assert brewed_while_running == [True], "the cup was finished before the stop"
    assert ledger.brews(order.order_id) == 1
    # The barista completed the hook: the 120 s heartbeat timeout never ran out.
    assert released_after < HEARTBEAT_TIMEOUT / 60
