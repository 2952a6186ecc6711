"""Spot and On-Demand on real containers, driven through ``barista serve orchestrator``:

- a mixed group (base 1 On-Demand, 50 % above it, two instance types) launches the split
  AWS documents, each container sized as its instance type;
- a reclaimed pool's instance reads its interruption notice from inside its container,
  through the metadata endpoint its environment names, before the stop two AWS minutes later;
- with CapacityRebalance the replacement is InService before the warned instance stops.

Each group has zones of its own, so reclaiming one's pool touches no other group.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from orchestrator.asg.store import Store
from orchestrator.instance_types import limits
from orchestrator.instances import LABEL_GROUP
from orchestrator.server import control_plane_clock
from orchestrator.spot.model import Pool
from orchestrator.spot.store import SpotStore
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

TIME_SCALE = 20.0  # two AWS minutes of notice are 6 wall seconds
SLOW_TIME_SCALE = 4.0
GROUPS = ("mixed", "warned", "rebalanced")
# Read inside the container, as any EC2 software would: IMDSv2 at the endpoint it was given.
READ_NOTICE = """
import os, urllib.request, urllib.error
base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
token = urllib.request.urlopen(urllib.request.Request(base + "latest/api/token", method="PUT",
    headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=2).read().decode()
action = base + "latest/meta-data/spot/instance-action"
try:
    print(urllib.request.urlopen(urllib.request.Request(action,
        headers={"X-aws-ec2-metadata-token": token}), timeout=2).read().decode())
except urllib.error.HTTPError as error:
    print(error.code)
"""


def _bridge_gateway() -> str:
    network = docker.from_env().networks.get("bridge")
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


@contextmanager
def _orchestrator(state: Path, time_scale: float) -> Iterator[OrchestratorProcess]:
    host = _bridge_gateway()
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    running = OrchestratorProcess(
        state,
        port,
        host=host,
        time_scale=str(time_scale),
        reconcile_interval="0.2",
        metadata_endpoint=f"http://{host}:{port}",
        # A quiet market (nobody else in the pools): every pool has room, prices sit at
        # the floor, so the allocation strategies' choices are known.
        spot_demand="0",
        spot_demand_swing="0",
        spot_noise="0",
    )
    running.start()
    running.client.call(
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": "spot-health",
            "LaunchTemplateData": {
                "ImageId": stable_image("service"),
                "InstanceType": "t3.micro",
                "BaristaContainer": {"Command": ["serve", "health"], "StopTimeout": 2},
            },
        },
    )
    try:
        yield running
    finally:
        running.stop()
        for group in GROUPS:
            for container in group_containers(group):
                container.remove(force=True)


@pytest.fixture(scope="module")
def orchestrator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrchestratorProcess]:
    with _orchestrator(tmp_path_factory.mktemp("spot") / "barista.db", TIME_SCALE) as running:
        yield running


@pytest.fixture
def slow_orchestrator(tmp_path: Path) -> Iterator[OrchestratorProcess]:
    """Two AWS minutes long enough (30 wall seconds) for a replacement to pass the image's
    Docker health check (10 s interval) before the warned instance's stop."""
    with _orchestrator(tmp_path / "barista.db", SLOW_TIME_SCALE) as running:
        yield running


def _create(
    orchestrator: OrchestratorProcess, name: str, zone: str, desired: int, **more: Any
) -> None:
    base = more.pop("base", 0)
    percentage = more.pop("percentage", 0)
    orchestrator.client.call(
        "autoscaling",
        "CreateAutoScalingGroup",
        {
            "AutoScalingGroupName": name,
            "MinSize": 0,
            "MaxSize": 8,
            "DesiredCapacity": desired,
            "AvailabilityZones": [zone],
            "MixedInstancesPolicy": {
                "LaunchTemplate": {
                    "LaunchTemplateSpecification": {"LaunchTemplateName": "spot-health"},
                    "Overrides": [{"InstanceType": "t3.micro"}, {"InstanceType": "t3.small"}],
                },
                "InstancesDistribution": {
                    "OnDemandBaseCapacity": base,
                    "OnDemandPercentageAboveBaseCapacity": percentage,
                    "SpotAllocationStrategy": "lowest-price",
                    "SpotInstancePools": more.pop("pools", 1),
                },
            },
            **more,
        },
    )


def _running(group: str) -> list[Container]:
    """The group's running containers; one removed while listed is skipped, not an error."""
    found = docker.from_env().containers.list(
        filters={"label": [f"{SESSION_LABEL}={SESSION_ID}", f"{LABEL_GROUP}={group}"]},
        ignore_removed=True,
    )
    return [c for c in found if c.status == "running"]


def _instances(orchestrator: OrchestratorProcess, group: str) -> list[dict[str, Any]]:
    answer = orchestrator.client.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [group]}
    )
    return list(answer["AutoScalingGroups"][0]["Instances"])


def _reclaim(orchestrator: OrchestratorProcess, pool: Pool) -> None:
    """What the dashboard's control does, on the orchestrator's own store and clock."""
    state = Path(orchestrator.environment["BARISTA_STATE_PATH"])
    scale = float(orchestrator.environment["BARISTA_TIME_SCALE"])
    with Store(state) as store:
        now = control_plane_clock(store, scale)()
    with SpotStore(state) as spot:
        spot.reclaim(pool, now + 600)


def test_a_mixed_group_launches_the_documented_split(orchestrator: OrchestratorProcess) -> None:
    _create(orchestrator, "mixed", "az-a", 5, base=1, percentage=50, pools=2)
    assert wait_for(lambda: len(_running("mixed")) == 5, timeout=60), "five containers"
    labels = [c.labels for c in _running("mixed")]
    markets = sorted(label["barista.lifecycle"] for label in labels)
    # 1 base + ceil(50 % of 4) On-Demand, the other 2 Spot.
    assert markets == ["on-demand"] * 3 + ["spot"] * 2
    on_demand_types = {
        label["barista.instance-type"]
        for label in labels
        if label["barista.lifecycle"] == "on-demand"
    }
    assert on_demand_types == {"t3.micro"}  # prioritized: the first override
    spot_types = sorted(
        label["barista.instance-type"] for label in labels if label["barista.lifecycle"] == "spot"
    )
    assert spot_types == ["t3.micro", "t3.small"]  # lowest-price, spread over 2 pools
    for container in _running("mixed"):
        cpus, memory = limits(container.labels["barista.instance-type"])
        host_config = container.attrs["HostConfig"]
        assert host_config["NanoCpus"] == round(cpus * 1e9)
        assert host_config["Memory"] == memory * 1024 * 1024
    described = {i["InstanceId"]: i["InstanceType"] for i in _instances(orchestrator, "mixed")}
    assert sorted(described.values()) == sorted(
        c.labels["barista.instance-type"] for c in _running("mixed")
    )


def test_the_notice_is_read_inside_the_instance_before_its_stop(
    orchestrator: OrchestratorProcess,
) -> None:
    _create(orchestrator, "warned", "az-c", 1)
    assert wait_for(lambda: len(_running("warned")) == 1, timeout=60)
    (container,) = _running("warned")
    assert container.labels["barista.instance-type"] == "t3.micro"

    def notice() -> str:
        exit_code, output = container.exec_run(["python3", "-c", READ_NOTICE])
        assert exit_code == 0, output
        return str(output.decode().strip())

    assert notice() == "404"
    _reclaim(orchestrator, Pool("t3.micro", "az-c"))
    seen: list[str] = []
    assert wait_for(lambda: seen.append(notice()) or seen[-1] != "404", timeout=30)
    action = json.loads(seen[-1])
    assert action["action"] == "terminate"
    container.reload()
    assert container.status == "running", "the notice comes before the stop"

    def in_history() -> bool:
        history = orchestrator.client.call(
            "autoscaling", "DescribeScalingActivities", {"AutoScalingGroupName": "warned"}
        )["Activities"]
        return any(a["Description"].startswith("Spot interruption notice") for a in history)

    # The group records it on its next pass (the market and the group run on separate loops).
    assert wait_for(in_history, timeout=10)
    # The stop at the deadline, then a replacement from another pool.
    assert wait_for(lambda: container.id not in {c.id for c in _running("warned")}, timeout=60)
    assert wait_for(lambda: len(_running("warned")) == 1, timeout=60)
    (replacement,) = _running("warned")
    assert replacement.labels["barista.instance-type"] == "t3.small"


def test_capacity_rebalance_replacement_in_service_before_the_stop(
    slow_orchestrator: OrchestratorProcess,
) -> None:
    orchestrator = slow_orchestrator
    _create(orchestrator, "rebalanced", "az-d", 1, CapacityRebalance=True)
    assert wait_for(lambda: len(_running("rebalanced")) == 1, timeout=60)
    (warned,) = _running("rebalanced")
    _reclaim(orchestrator, Pool("t3.micro", "az-d"))
    observations: list[tuple[bool, bool]] = []  # (replacement InService, warned still running)

    def observe() -> bool:
        states = {
            i["InstanceId"]: i["LifecycleState"] for i in _instances(orchestrator, "rebalanced")
        }
        replaced = any(
            state == "InService" and instance_id != warned.labels["barista.instance-id"]
            for instance_id, state in states.items()
        )
        still = warned.id in {c.id for c in _running("rebalanced")}
        observations.append((replaced, still))
        return not still

    assert wait_for(observe, timeout=60, interval=0.1), "the warned instance should stop"
    assert (True, True) in observations, "the replacement was InService while the old one ran"
    assert wait_for(lambda: len(_running("rebalanced")) == 1, timeout=30)
