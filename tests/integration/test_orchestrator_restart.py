"""The orchestrator as users run it (``barista serve orchestrator``), killed mid-scale-out and
started again: it converges to the same group with no duplicate and no lost container."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from orchestrator.cli._client import Client, EndpointUnreachable
from orchestrator.model import LABEL_GROUP, LABEL_INSTANCE_ID
from tests.support.containers import LOOPBACK, SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

GROUP = "restart-web"
DESIRED = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class Orchestrator:
    """One ``barista serve orchestrator`` process on a store file, managing this session's
    containers only (INSTANCE_LABELS)."""

    def __init__(self, state: Path, port: int) -> None:
        self.environment = {
            **os.environ,
            "BARISTA_STATE_PATH": str(state),
            "BARISTA_API_PORT": str(port),
            "BARISTA_TIME_SCALE": "60",
            "BARISTA_RECONCILE_INTERVAL": "0.2",
            "BARISTA_INSTANCE_LABELS": f"{SESSION_LABEL}={SESSION_ID}",
        }
        self.client = Client(f"http://{LOOPBACK}:{port}", timeout=30)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "serve", "orchestrator"],
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert wait_for(self._answers, timeout=30), "the API should come up"

    def _answers(self) -> bool:
        try:
            self.client.call("autoscaling", "DescribeAutoScalingGroups", {})
        except EndpointUnreachable:
            return False
        return True

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def group_containers() -> list[docker.models.containers.Container]:
    return docker.from_env().containers.list(
        all=True, filters={"label": [f"{SESSION_LABEL}={SESSION_ID}", f"{LABEL_GROUP}={GROUP}"]}
    )


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[Orchestrator]:
    running = Orchestrator(tmp_path / "barista.db", free_port())
    yield running
    running.stop()
    for container in group_containers():
        container.remove(force=True)


def test_killed_mid_scale_out_the_orchestrator_converges_without_duplicates(
    orchestrator: Orchestrator,
):
    orchestrator.start()
    api = orchestrator.client
    api.call(
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": GROUP,
            "LaunchTemplateData": {
                "ImageId": stable_image("service"),
                "BaristaContainer": {"Command": ["serve", "health"], "StopTimeout": 2},
            },
        },
    )
    api.call(
        "autoscaling",
        "CreateAutoScalingGroup",
        {
            "AutoScalingGroupName": GROUP,
            "LaunchTemplate": {"LaunchTemplateName": GROUP},
            "MinSize": 0,
            "MaxSize": DESIRED,
            "AvailabilityZones": ["az-a", "az-b"],
        },
    )
    api.call(
        "autoscaling",
        "SetDesiredCapacity",
        {"AutoScalingGroupName": GROUP, "DesiredCapacity": DESIRED},
    )
    assert wait_for(lambda: len(group_containers()) >= 1, timeout=60)
    orchestrator.kill()
    at_kill = len(group_containers())
    assert at_kill < DESIRED, "the kill should land mid-scale-out for this test to mean anything"

    orchestrator.start()

    def converged() -> bool:
        running = [c for c in group_containers() if c.status == "running"]
        return len(running) == DESIRED and len(group_containers()) == DESIRED

    assert wait_for(converged, timeout=120), [c.status for c in group_containers()]
    ids = [c.labels[LABEL_INSTANCE_ID] for c in group_containers()]
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
