"""The orchestrator as users run it (``barista serve orchestrator``), killed mid-scale-out and
started again: it converges to the same group with no duplicate and no lost container."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.instances import LABEL_INSTANCE_ID
from tests.support.containers import free_loopback_port
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

GROUP = "restart-web"
DESIRED = 8


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[OrchestratorProcess]:
    running = OrchestratorProcess(
        tmp_path / "barista.db", free_loopback_port(), time_scale="60", reconcile_interval="0.2"
    )
    yield running
    running.stop()
    for container in group_containers(GROUP):
        container.remove(force=True)


def test_killed_mid_scale_out_the_orchestrator_converges_without_duplicates(
    orchestrator: OrchestratorProcess,
):
    orchestrator.start()
    api = orchestrator.client
    orchestrator.create_health_group(GROUP, MinSize=0, MaxSize=DESIRED)
    api.call(
        "autoscaling",
        "SetDesiredCapacity",
        {"AutoScalingGroupName": GROUP, "DesiredCapacity": DESIRED},
    )
    assert wait_for(lambda: len(group_containers(GROUP)) >= 1, timeout=60)
    orchestrator.kill()
    at_kill = len(group_containers(GROUP))
    assert at_kill < DESIRED, "the kill should land mid-scale-out for this test to mean anything"

    orchestrator.start()

    def converged() -> bool:
        running = [c for c in group_containers(GROUP) if c.status == "running"]
        return len(running) == DESIRED and len(group_containers(GROUP)) == DESIRED

    assert wait_for(converged, timeout=120), [c.status for c in group_containers(GROUP)]
    ids = [c.labels[LABEL_INSTANCE_ID] for c in group_containers(GROUP)]
    assert len(set(ids)) == DESIRED
    (described,) = api.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [GROUP]}
    )["AutoScalingGroups"]
    assert sorted(i["InstanceId"] for i in described["Instances"]) == sorted(ids)
    launched = [
        a["Description"].rsplit(" ", 1)[-1]
        for a in api.call(
            "autoscaling", "DescribeScalingActivities", {"AutoScalingGroupName": GROUP}
        )["Activities"]
        if a["Description"].startswith("Launching")
    ]
    assert set(launched) <= set(ids), "every recorded launch is one of the running containers"
