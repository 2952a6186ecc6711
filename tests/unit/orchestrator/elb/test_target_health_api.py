"""DescribeTargetHealth names each instance target's zone, and a silent HAProxy is a 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.api import ApiContext, elbv2
from orchestrator.elb.haproxy_runtime import HaproxyRuntimeApi
from orchestrator.errors import ServiceUnavailable
from orchestrator.instances import Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.fake import FakeRuntime


@pytest.fixture
def handlers(tmp_path: Path) -> tuple[dict, FakeRuntime]:
    runtime = FakeRuntime(start=1.8e9)
    # Port 9 (discard) on loopback: nothing listens, as when HAProxy is down.
    environ = {"BARISTA_HAPROXY_RUNTIME_API": "127.0.0.1:9"}
    context = ApiContext(store_path=tmp_path / "barista.db", runtime=runtime, environ=environ)
    return elbv2.actions(context), runtime


def _target_group(actions: dict, runtime: FakeRuntime) -> str:
    runtime.launch(
        "web",
        "i-0123456789abcdef0",
        template_name="web",
        template_version=1,
        data=LaunchTemplateData(image="x"),
        availability_zone="az-b",
        lifecycle=Lifecycle.ON_DEMAND,
        protected=False,
    )
    (tg,) = actions["CreateTargetGroup"]({"Name": "orders", "Port": 8000})["TargetGroups"]
    arn = tg["TargetGroupArn"]
    actions["RegisterTargets"]({"TargetGroupArn": arn, "Targets": [{"Id": "i-0123456789abcdef0"}]})
    return arn


def test_each_target_carries_its_instance_zone(handlers, monkeypatch: pytest.MonkeyPatch):
    actions, runtime = handlers
    arn = _target_group(actions, runtime)
    monkeypatch.setattr(HaproxyRuntimeApi, "servers", lambda self: [])
    (description,) = actions["DescribeTargetHealth"]({"TargetGroupArn": arn})[
        "TargetHealthDescriptions"
    ]
    assert description["Target"] == {
        "Id": "i-0123456789abcdef0",
        "Port": 8000,
        "AvailabilityZone": "az-b",
    }


def test_haproxy_not_answering_is_service_unavailable(handlers):
    actions, runtime = handlers
    arn = _target_group(actions, runtime)
    with pytest.raises(ServiceUnavailable) as refused:
        actions["DescribeTargetHealth"]({"TargetGroupArn": arn})
    assert (refused.value.code, refused.value.status) == ("ServiceUnavailable", 503)
