"""``barista serve orchestrator`` as a test's subprocess, managing only this session's
containers (INSTANCE_LABELS), with the API client to drive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import docker
from docker.models.containers import Container

from orchestrator.client import Client, EndpointUnreachable
from orchestrator.instances import LABEL_GROUP
from tests.support.aws_auth import ACCESS_KEY, ENVIRON
from tests.support.containers import LOOPBACK, SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for


class OrchestratorProcess:
    """One orchestrator process on a store file; ``start`` returns once its API answers."""

    def __init__(self, state: Path, port: int, host: str = LOOPBACK, **settings: str) -> None:
        """``host`` is where the API listens: loopback, or a Docker network's gateway when
        the group's containers must reach it (a barista completing its lifecycle hook)."""
        self.environment = {
            **os.environ,
            "BARISTA_STATE_PATH": str(state),
            "BARISTA_API_HOST": host,
            "BARISTA_API_PORT": str(port),
            "BARISTA_INSTANCE_LABELS": f"{SESSION_LABEL}={SESSION_ID}",
            **ENVIRON,
            **{f"BARISTA_{key.upper()}": value for key, value in settings.items()},
        }
        self.url = f"http://{host}:{port}"
        self.client = Client(self.url, timeout=30, credentials=ACCESS_KEY)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "serve", "orchestrator"],
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self._answers, timeout=30), "the orchestrator's API should come up"

    def _answers(self) -> bool:
        try:
            self.client.call("autoscaling", "DescribeAutoScalingGroups", {})
        except EndpointUnreachable:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash would: no chance to finish anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def create_health_group(self, group: str, **sizes: int) -> None:
        """A launch template and a group of ``serve health`` containers (quick to start)."""
        self.client.call(
            "ec2",
            "CreateLaunchTemplate",
            {
                "LaunchTemplateName": group,
                "LaunchTemplateData": {
                    "ImageId": stable_image("service"),
                    "BaristaContainer": {"Command": ["serve", "health"], "StopTimeout": 2},
                },
            },
        )
        params: Mapping[str, object] = {
            "AutoScalingGroupName": group,
            "LaunchTemplate": {"LaunchTemplateName": group},
            "AvailabilityZones": ["az-a", "az-b"],
            **{key: value for key, value in sizes.items()},
        }
        self.client.call("autoscaling", "CreateAutoScalingGroup", params)


def group_containers(group: str) -> list[Container]:
    """This session's containers of ``group``, in any state."""
    return docker.from_env().containers.list(
        all=True, filters={"label": [f"{SESSION_LABEL}={SESSION_ID}", f"{LABEL_GROUP}={group}"]}
    )
