"""Waiting until an applied stack serves: its groups' instances in service, its ECS services'
tasks running, its targets healthy.

All are read through the API a user has (DescribeAutoScalingGroups, DescribeServices,
DescribeTargetHealth), so "ready" means what the dashboard and the CLI would show.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.client import EndpointUnreachable, ServiceError
from orchestrator.demo.stack import Caller


@dataclass(frozen=True)
class Readiness:
    """What is still missing; empty ``waiting`` means ready."""

    waiting: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.waiting


def in_service(client: Caller, groups: Sequence[str]) -> list[str]:
    """Groups whose healthy InService instances are fewer than DesiredCapacity, described."""
    found = client.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": list(groups)}
    )
    described = {g["AutoScalingGroupName"]: g for g in found["AutoScalingGroups"]}
    waiting = []
    for name in groups:
        group = described.get(name)
        if group is None:
            waiting.append(f"group {name} (not created)")
            continue
        serving = sum(
            1
            for i in group["Instances"]
            if i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy"
        )
        if serving < group["DesiredCapacity"]:
            waiting.append(f"group {name} ({serving}/{group['DesiredCapacity']} InService)")
    return waiting


def services_running(client: Caller, services: Sequence[tuple[str, str]]) -> list[str]:
    """ECS services, as (cluster, service), whose running tasks are fewer than desired."""
    waiting = []
    for cluster, name in services:
        found = client.call("ecs", "DescribeServices", {"cluster": cluster, "services": [name]})
        service = next((s for s in found["services"] if s["status"] == "ACTIVE"), None)
        if service is None:
            waiting.append(f"service {name} (not created)")
        elif service["runningCount"] < service["desiredCount"]:
            waiting.append(
                f"service {name} ({service['runningCount']}/{service['desiredCount']} running)"
            )
    return waiting


def healthy_targets(client: Caller, target_group_arns: Sequence[str]) -> list[str]:
    """Target groups without a healthy target, described."""
    waiting = []
    for arn in target_group_arns:
        try:
            found = client.call("elbv2", "DescribeTargetHealth", {"TargetGroupArn": arn})
        except ServiceError as error:
            waiting.append(f"target group {arn.rsplit(':', 1)[-1]} ({error.code})")
            continue
        states = [d["TargetHealth"]["State"] for d in found["TargetHealthDescriptions"]]
        if "healthy" not in states:
            waiting.append(
                f"target group {arn.rsplit(':', 1)[-1]} ({', '.join(states) or 'no targets'})"
            )
    return waiting


def readiness(
    client: Caller,
    groups: Sequence[str],
    target_group_arns: Sequence[str],
    services: Sequence[tuple[str, str]] = (),
) -> Readiness:
    try:
        return Readiness(
            tuple(
                in_service(client, groups)
                + services_running(client, services)
                + healthy_targets(client, target_group_arns)
            )
        )
    except EndpointUnreachable as error:
        return Readiness((f"the orchestrator ({error.endpoint})",))


def wait_until_ready(
    client: Caller,
    groups: Sequence[str],
    target_group_arns: Sequence[str],
    timeout: float,
    *,
    progress: Callable[[Readiness], None] = lambda _: None,
    interval: float = 2.0,
    services: Sequence[tuple[str, str]] = (),
) -> Readiness:
    """Poll until ready or ``timeout`` seconds; returns the last readiness either way.
    ``progress`` hears each change of what is still awaited."""
    deadline = time.monotonic() + timeout
    last: Readiness | None = None
    while True:
        current = readiness(client, groups, target_group_arns, services)
        if current != last:
            progress(current)
            last = current
        if current.ready or time.monotonic() >= deadline:
            return current
        time.sleep(interval)
