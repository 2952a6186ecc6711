"""The HTTP API in process: starlette's TestClient over a tmp store and a FakeRuntime."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from orchestrator.api import ApiContext, create_app
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import CREDENTIALS, SIGV4

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()

Call = Callable[..., Any]


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(start=START)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "barista.db"


@pytest.fixture
def client(store_path: Path, runtime: FakeRuntime) -> Iterator[TestClient]:
    context = ApiContext(store_path=store_path, runtime=runtime, credentials=CREDENTIALS)
    with TestClient(create_app(context)) as opened:
        opened.auth = SIGV4
        yield opened


def _caller(client: TestClient, service: str) -> Call:
    def call(action: str, expect: int = 200, **params: Any) -> Any:
        response = client.post(f"/api/{service}/{action}", json=params)
        assert response.status_code == expect, response.text
        return response.json()

    return call


@pytest.fixture
def autoscaling(client: TestClient) -> Call:
    return _caller(client, "autoscaling")


@pytest.fixture
def ec2(client: TestClient) -> Call:
    return _caller(client, "ec2")


@pytest.fixture
def cloudwatch(client: TestClient) -> Call:
    return _caller(client, "cloudwatch")


def error_of(body: Any) -> tuple[str, str]:
    return body["Error"]["Code"], body["Error"]["Message"]


@pytest.fixture
def group(ec2: Call, autoscaling: Call) -> str:
    """A template ``baristas`` and a group ``baristas`` (min 1, max 4, desired 2)."""
    ec2(
        "CreateLaunchTemplate",
        LaunchTemplateName="baristas",
        LaunchTemplateData={"ImageId": "barista/service:latest", "InstanceType": "t3.micro"},
    )
    autoscaling(
        "CreateAutoScalingGroup",
        AutoScalingGroupName="baristas",
        LaunchTemplate={"LaunchTemplateName": "baristas", "Version": "$Latest"},
        MinSize=1,
        MaxSize=4,
        DesiredCapacity=2,
        AvailabilityZones=["az-a", "az-b"],
    )
    return "baristas"
