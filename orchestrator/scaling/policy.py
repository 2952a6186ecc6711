"""What PutScalingPolicy stores: one named policy of a group, of one of AWS's four types.

The arithmetic of each type lives in its own module (target_tracking, step, simple); this
module ties a definition to its group, its metric and its ARN, and turns it into a JSON
document and back for the store. Application Auto Scaling (ECS services,
``orchestrator.ecs.scalable_target``) uses the same definitions: a
:class:`TargetTrackingPolicy` over its own metric type, and :class:`StepScalingPolicy`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from orchestrator.arns import arn
from orchestrator.scaling.activity import activity_id
from orchestrator.scaling.adjustment import AdjustmentType
from orchestrator.scaling.metrics import MetricSpec, metric_from_document, metric_to_document
from orchestrator.scaling.predictive import (
    PredictiveScalingConfiguration,
    configuration_from_document,
    configuration_to_document,
)
from orchestrator.scaling.simple import SimpleScalingPolicy
from orchestrator.scaling.step import StepAdjustment, StepScalingPolicy
from orchestrator.scaling.target_tracking import TargetTrackingConfiguration


class PolicyType(StrEnum):
    TARGET_TRACKING_SCALING = "TargetTrackingScaling"
    STEP_SCALING = "StepScaling"
    SIMPLE_SCALING = "SimpleScaling"
    PREDICTIVE_SCALING = "PredictiveScaling"


MetricT = TypeVar("MetricT")


@dataclass(frozen=True)
class TargetTrackingPolicy(Generic[MetricT]):
    """A target tracking policy: the metric it tracks and its TargetTrackingConfiguration.

    The metric type is the service's (a group's :data:`MetricSpec`, an ECS service's own):
    what is measured differs, the arithmetic and the alarms do not.
    """

    metric: MetricT
    configuration: TargetTrackingConfiguration


PolicyDefinition = (
    TargetTrackingPolicy[MetricSpec]
    | StepScalingPolicy
    | SimpleScalingPolicy
    | PredictiveScalingConfiguration
)


@dataclass(frozen=True)
class ScalingPolicy:
    auto_scaling_group_name: str
    policy_name: str
    definition: PolicyDefinition
    enabled: bool = True

    @property
    def policy_type(self) -> PolicyType:
        if isinstance(self.definition, TargetTrackingPolicy):
            return PolicyType.TARGET_TRACKING_SCALING
        if isinstance(self.definition, StepScalingPolicy):
            return PolicyType.STEP_SCALING
        if isinstance(self.definition, PredictiveScalingConfiguration):
            return PolicyType.PREDICTIVE_SCALING
        return PolicyType.SIMPLE_SCALING

    @property
    def policy_arn(self) -> str:
        """Shaped like AWS's; the uuid is derived from the names so it is stable."""
        uuid = activity_id("policy", self.auto_scaling_group_name, self.policy_name)
        return arn(
            "autoscaling",
            f"scalingPolicy:{uuid}:autoScalingGroupName/{self.auto_scaling_group_name}"
            f":policyName/{self.policy_name}",
        )

    @property
    def tracked_series(self) -> str:
        """The datapoint series of the value a target tracking policy tracks, one per period:
        what its AlarmHigh and AlarmLow read (backlog per instance, the group's CPU)."""
        return f"{self.policy_arn}/tracked"

    def answers_to(self, action: str) -> bool:
        """Whether an alarm action (an ARN or ``group/policy``) names this policy."""
        return action in (self.policy_arn, f"{self.auto_scaling_group_name}/{self.policy_name}")


def policy_to_document(policy: ScalingPolicy) -> dict[str, Any]:
    definition = policy.definition
    document: dict[str, Any] = {
        "auto_scaling_group_name": policy.auto_scaling_group_name,
        "policy_name": policy.policy_name,
        "policy_type": policy.policy_type.value,
        "enabled": policy.enabled,
    }
    if isinstance(definition, TargetTrackingPolicy):
        document["metric"] = metric_to_document(definition.metric)
        document["configuration"] = asdict(definition.configuration)
    elif isinstance(definition, PredictiveScalingConfiguration):
        document["predictive"] = configuration_to_document(definition)
    else:
        document["definition"] = asdict(definition)
        document["definition"]["adjustment_type"] = definition.adjustment_type.value
    return document


def policy_from_document(document: dict[str, Any]) -> ScalingPolicy:
    kind = PolicyType(document["policy_type"])
    definition: PolicyDefinition
    if kind is PolicyType.TARGET_TRACKING_SCALING:
        definition = TargetTrackingPolicy[MetricSpec](
            metric_from_document(document["metric"]),
            TargetTrackingConfiguration(**document["configuration"]),
        )
    elif kind is PolicyType.PREDICTIVE_SCALING:
        definition = configuration_from_document(document["predictive"])
    else:
        raw = dict(document["definition"])
        raw["adjustment_type"] = AdjustmentType(raw["adjustment_type"])
        if kind is PolicyType.STEP_SCALING:
            raw["step_adjustments"] = tuple(StepAdjustment(**s) for s in raw["step_adjustments"])
            definition = StepScalingPolicy(**raw)
        else:
            definition = SimpleScalingPolicy(**raw)
    return ScalingPolicy(
        auto_scaling_group_name=document["auto_scaling_group_name"],
        policy_name=document["policy_name"],
        definition=definition,
        enabled=document["enabled"],
    )
