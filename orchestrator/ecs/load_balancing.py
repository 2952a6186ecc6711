"""How the ECS controller registers tasks with target groups (awsvpc: by IP and port).

``TargetRegistry`` is all the controller needs; ``ElbTargetRegistry`` implements it on the ELB
controller (``orchestrator.elb``): registrations and deregistrations go to the ELB store, the
ELB controller programs HAProxy and marks a deregistered target drained once it is idle or
its deregistration delay has passed, and health comes from ``describe_target_health``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from orchestrator.elb.controller import ElbController
from orchestrator.elb.haproxy_config import backend_name
from orchestrator.elb.model import Target, TargetHealthState


class TargetRegistry(Protocol):
    def register(self, target_group_arn: str, ip: str, port: int) -> None: ...

    def deregister(self, target_group_arn: str, ip: str, port: int) -> None: ...

    def healthy(self, target_group_arn: str, ip: str, port: int) -> bool:
        """The target group's health check passes for the target (state ``healthy``)."""
        ...

    def unhealthy(self, target_group_arn: str, ip: str, port: int) -> bool:
        """The target group's health check fails for the target (state ``unhealthy``)."""
        ...

    def drained(self, target_group_arn: str, ip: str, port: int) -> bool:
        """Deregistration is over: no longer draining (or never registered)."""
        ...


class ElbTargetRegistry:
    def __init__(self, elb: ElbController) -> None:
        self.elb = elb

    def register(self, target_group_arn: str, ip: str, port: int) -> None:
        self.elb.store.register_targets(target_group_arn, [Target(ip, port)])

    def deregister(self, target_group_arn: str, ip: str, port: int) -> None:
        self.elb.store.deregister_targets(target_group_arn, [Target(ip, port)], self.elb.clock())

    def healthy(self, target_group_arn: str, ip: str, port: int) -> bool:
        descriptions = self.elb.describe_target_health(target_group_arn, [Target(ip, port)])
        return bool(descriptions) and (
            descriptions[0].target_health.state is TargetHealthState.HEALTHY
        )

    def unhealthy(self, target_group_arn: str, ip: str, port: int) -> bool:
        descriptions = self.elb.describe_target_health(target_group_arn, [Target(ip, port)])
        return bool(descriptions) and (
            descriptions[0].target_health.state is TargetHealthState.UNHEALTHY
        )

    def drained(self, target_group_arn: str, ip: str, port: int) -> bool:
        target = Target(ip, port)
        return not any(
            d.target == target and not d.drained
            for d in self.elb.store.deregistrations(target_group_arn)
        )


def backend_requests(show_stat: str, backend: str) -> int | None:
    """The backend's total HTTP requests (``req_tot``, else sessions ``stot``) from HAProxy's
    ``show stat`` CSV, or None if the backend is not there."""
    lines = [line for line in show_stat.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return None
    columns = lines[0][2:].split(",")
    for line in lines[1:]:
        row = dict(zip(columns, line.split(","), strict=False))
        if row.get("pxname") == backend and row.get("svname") == "BACKEND":
            for column in ("req_tot", "stot"):
                value = row.get(column, "")
                if value.isdigit():
                    return int(value)
    return None


def labelled(resource_label: str, target_group_arns: Iterable[str]) -> str | None:
    """The target group ALBRequestCountPerTarget's ``ResourceLabel`` names: AWS's form,
    ``app/<load balancer>/<id>/targetgroup/<target group>/<id>``, or the target group's ARN."""
    arns = list(target_group_arns)
    if resource_label in arns:
        return resource_label
    _, found, tail = resource_label.partition("/targetgroup/")
    if not found:
        return None
    return next((a for a in arns if a.endswith(f":targetgroup/{tail}")), None)


class ElbRequestCounter:
    """ALBRequestCountPerTarget's raw counter: requests a target group's HAProxy backend has
    taken since HAProxy started (a reload starts it again; the sampler treats a drop as a
    restart)."""

    def __init__(self, elb: ElbController) -> None:
        self.elb = elb

    def request_count(self, resource_label: str) -> int | None:
        """``resource_label``: AWS's ``app/…/targetgroup/…`` or the target group's ARN."""
        groups = {g.target_group_arn: g for g in self.elb.store.target_groups()}
        arn = labelled(resource_label, groups)
        group = groups.get(arn) if arn is not None else None
        if group is None:
            return None
        try:
            answer = self.elb.haproxy.execute("show stat")
        except OSError:
            return None
        return backend_requests(answer, backend_name(group))
