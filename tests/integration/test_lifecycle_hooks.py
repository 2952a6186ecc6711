"""Lifecycle hooks on real containers, through ``barista serve orchestrator`` and its API:
a terminate hook holds an instance in Terminating:Wait (through an orchestrator SIGKILL and
restart) until CompleteLifecycleAction; DefaultResult applies after HeartbeatTimeout; a launch
hook holds Pending:Wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.containers import free_loopback_port
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

TIME_SCALE = 60  # an AWS minute per wall second


@pytest.fixture
def orchestrator(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OrchestratorProcess]:
    running = OrchestratorProcess(
        tmp_path / "barista.db",
        free_loopback_port(),
        time_scale=str(TIME_SCALE),
        reconcile_interval="0.2",
    )
    running.start()
    yield running
    running.stop()
    for container in group_containers(request.node.name[:40]):
        container.remove(force=True)


def group_name(request: pytest.FixtureRequest) -> str:
    return request.node.name[:40]


def running_ids(group: str) -> set[str]:
    return {
        c.labels["barista.instance-id"] for c in group_containers(group) if c.status == "running"
    }


def states(api: Any, group: str) -> dict[str, str]:
    (described,) = api.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [group]}
    )["AutoScalingGroups"]
    return {i["InstanceId"]: i["LifecycleState"] for i in described["Instances"]}


def put_hook(api: Any, group: str, transition: str, **options: object) -> None:
    api.call(
        "autoscaling",
        "PutLifecycleHook",
        {
            "AutoScalingGroupName": group,
            "LifecycleHookName": "hold",
            "LifecycleTransition": f"autoscaling:EC2_INSTANCE_{transition}",
            **options,
        },
    )


def one_in_service(api: Any, group: str) -> str:
    assert wait_for(lambda: list(states(api, group).values()) == ["InService"], timeout=60)
    (instance_id,) = states(api, group)
    return instance_id


def test_a_terminate_hook_holds_the_instance_through_a_restart_until_completed(
    orchestrator: OrchestratorProcess, request: pytest.FixtureRequest
):
    group = group_name(request)
    api = orchestrator.client
    orchestrator.create_health_group(group, MinSize=0, MaxSize=2, DesiredCapacity=1)
    victim = one_in_service(api, group)
    put_hook(api, group, "TERMINATING", HeartbeatTimeout=7200, DefaultResult="ABANDON")
    api.call(
        "autoscaling", "SetDesiredCapacity", {"AutoScalingGroupName": group, "DesiredCapacity": 0}
    )
    assert wait_for(lambda: states(api, group).get(victim) == "Terminating:Wait", timeout=30)

    orchestrator.kill()
    orchestrator.start()
    # Many passes of the new orchestrator later, the instance still waits, container running.
    passes_seen = 0

    def still_held_after_passes() -> bool:
        nonlocal passes_seen
        passes_seen += 1
        held = states(api, group).get(victim) == "Terminating:Wait" and victim in running_ids(group)
        assert held, "the restarted orchestrator must resume the wait, not finish it"
        return passes_seen >= 10

    assert wait_for(still_held_after_passes, timeout=30, interval=0.2)

    completed_at = time.monotonic()
    api.call(
        "autoscaling",
        "CompleteLifecycleAction",
        {
            "AutoScalingGroupName": group,
            "LifecycleHookName": "hold",
            "InstanceId": victim,
            "LifecycleActionResult": "CONTINUE",
        },
    )
    assert wait_for(lambda: victim not in running_ids(group) and not states(api, group), 60)
    print(f"completed → container gone: {time.monotonic() - completed_at:.2f} s")

    def terminated_successfully() -> bool:
        activities = api.call(
            "autoscaling", "DescribeScalingActivities", {"AutoScalingGroupName": group}
        )["Activities"]
        (terminated,) = [
            a for a in activities if a["Description"] == f"Terminating EC2 instance: {victim}"
        ]
        return bool(terminated["StatusCode"] == "Successful")

    # The container goes first; the next pass records the instance Terminated.
    assert wait_for(terminated_successfully, timeout=30)


def test_the_default_result_applies_after_the_heartbeat_timeout(
    orchestrator: OrchestratorProcess, request: pytest.FixtureRequest
):
    group = group_name(request)
    api = orchestrator.client
    orchestrator.create_health_group(group, MinSize=0, MaxSize=2, DesiredCapacity=1)
    victim = one_in_service(api, group)
    heartbeat = 300  # AWS seconds: 5 wall seconds at the test's time scale
    put_hook(api, group, "TERMINATING", HeartbeatTimeout=heartbeat, DefaultResult="CONTINUE")
    api.call(
        "autoscaling",
        "TerminateInstanceInAutoScalingGroup",
        {"InstanceId": victim, "ShouldDecrementDesiredCapacity": True},
    )
    assert wait_for(lambda: states(api, group).get(victim) == "Terminating:Wait", timeout=30)
    waiting_since = time.monotonic()
    assert wait_for(lambda: victim not in running_ids(group), timeout=60)
    waited = time.monotonic() - waiting_since
    print(f"Terminating:Wait → stopped after {waited:.2f} s (heartbeat {heartbeat / TIME_SCALE} s)")
    assert waited >= heartbeat / TIME_SCALE - 1.0, "nobody completed it: it waited the timeout"


def test_a_launch_hook_holds_pending_wait_until_continue(
    orchestrator: OrchestratorProcess, request: pytest.FixtureRequest
):
    group = group_name(request)
    api = orchestrator.client
    orchestrator.create_health_group(group, MinSize=0, MaxSize=2, DesiredCapacity=0)
    put_hook(api, group, "LAUNCHING", HeartbeatTimeout=7200)
    api.call(
        "autoscaling", "SetDesiredCapacity", {"AutoScalingGroupName": group, "DesiredCapacity": 1}
    )
    assert wait_for(lambda: list(states(api, group).values()) == ["Pending:Wait"], timeout=60)
    (instance_id,) = states(api, group)
    api.call(
        "autoscaling",
        "CompleteLifecycleAction",
        {
            "AutoScalingGroupName": group,
            "LifecycleHookName": "hold",
            "InstanceId": instance_id,
            "LifecycleActionResult": "CONTINUE",
        },
    )
    assert wait_for(lambda: states(api, group) == {instance_id: "InService"}, timeout=60)
