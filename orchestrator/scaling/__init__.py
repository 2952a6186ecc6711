"""Scaling-policy arithmetic: what DesiredCapacity should become, and why.

Pure functions over immutable values: no Docker, no I/O and no clock reads. Every function that
depends on time takes ``now`` (epoch seconds), so the controller decides when "now" is and the
tests can state it exactly. Each policy answers with a :class:`ScalingDecision`; applying it
(SetDesiredCapacity, recording the activity) is the caller's job.
"""

from __future__ import annotations

from orchestrator.scaling.adjustment import AdjustmentType, adjusted_capacity, percent_change
from orchestrator.scaling.decision import GroupSnapshot, ScalingDecision, clamp
from orchestrator.scaling.simple import SimpleScalingPolicy, simple_scaling_decision
from orchestrator.scaling.step import StepAdjustment, StepScalingPolicy, step_scaling_decision
from orchestrator.scaling.target_tracking import (
    ASGAverageCPUUtilization,
    BacklogPerInstance,
    TargetTrackingConfiguration,
    backlog_per_instance,
    backlog_per_instance_target,
    target_tracking_decision,
)
from orchestrator.time_scale import TimeScale

__all__ = [
    "ASGAverageCPUUtilization",
    "AdjustmentType",
    "BacklogPerInstance",
    "GroupSnapshot",
    "ScalingDecision",
    "SimpleScalingPolicy",
    "StepAdjustment",
    "StepScalingPolicy",
    "TargetTrackingConfiguration",
    "TimeScale",
    "adjusted_capacity",
    "backlog_per_instance",
    "backlog_per_instance_target",
    "clamp",
    "percent_change",
    "simple_scaling_decision",
    "step_scaling_decision",
    "target_tracking_decision",
]
