"""How the ECS controller registers tasks with target groups (awsvpc: by IP and port).

``TargetRegistry`` is all the controller needs; ``ElbTargetRegistry`` implements it on the ELB
controller (``orchestrator.elb``): registrations and deregistrations go to the ELB store, the
ELB controller programs HAProxy and marks a deregistered target drained once it is idle or
its deregistration delay has passed, and health comes from ``describe_target_health``.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.elb.controller import ElbController
from orchestrator.elb.model import Target, TargetHealthState


class TargetRegistry(Protocol):
    def register(self, target_group_arn: str, ip: str, port: int) -> None: ...

    def deregister(self, target_group_arn: str, ip: str, port: int) -> None: ...

    def healthy(self, target_group_arn: str, ip: str, port: int) -> bool:
        """The target group's health check passes for the target (state ``healthy``)."""
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

    def drained(self, target_group_arn: str, ip: str, port: int) -> bool:
        target = Target(ip, port)
        return not any(
            d.target == target and not d.drained
            for d in self.elb.store.deregistrations(target_group_arn)
        )
