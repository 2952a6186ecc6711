"""EC2 Auto Scaling groups: the definition, its rules, and the pure reconciler ``plan``.

Nothing here talks to Docker: the controller reads instances from ``orchestrator.runtime``,
calls :func:`plan`, and carries the plan out.
"""

from __future__ import annotations

from orchestrator.asg.group import (
    AutoScalingGroup,
    HealthCheckType,
    ScalingProcess,
    TerminationPolicy,
    create_auto_scaling_group,
    resume_processes,
    set_desired_capacity,
    set_instance_protection,
    suspend_processes,
    update_auto_scaling_group,
)
from orchestrator.asg.plan import Launch, Plan, Termination, plan
from orchestrator.scaling.activity import Activity, ActivityStatusCode

__all__ = [
    "Activity",
    "ActivityStatusCode",
    "AutoScalingGroup",
    "HealthCheckType",
    "Launch",
    "Plan",
    "ScalingProcess",
    "Termination",
    "TerminationPolicy",
    "create_auto_scaling_group",
    "plan",
    "resume_processes",
    "set_desired_capacity",
    "set_instance_protection",
    "suspend_processes",
    "update_auto_scaling_group",
]
