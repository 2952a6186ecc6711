"""The one way an instance leaves an Auto Scaling group: drain it, then stop it.

Scale-in by the controller, TerminateInstanceInAutoScalingGroup and DeleteAutoScalingGroup
with ForceDelete all terminate through :class:`Terminator`, so every instance gets what EC2
Auto Scaling gives it: deregistration from the group's target groups and the deregistration
delay (``before_terminate``, the load balancer's hook), and only then the stop (SIGTERM, the
template's stopTimeout, SIGKILL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.runtime import Runtime

# (group name, instance id) -> returns once the instance may be stopped: the load balancer
# has deregistered it and its connections have drained (deregistration delay).
BeforeTerminate = Callable[[str, str], None]


@dataclass(frozen=True)
class Terminator:
    """Drains through ``before_terminate`` (None: no load balancer), then terminates."""

    runtime: Runtime
    before_terminate: BeforeTerminate | None = None

    def __call__(self, group_name: str, instance_id: str) -> None:
        """Returns when the instance is stopped; blocks for the drain, which the load balancer
        bounds by the target groups' longest deregistration delay."""
        if self.before_terminate is not None:
            self.before_terminate(group_name, instance_id)
        self.runtime.terminate(instance_id)
