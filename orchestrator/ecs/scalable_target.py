"""What Application Auto Scaling keeps for an ECS service: its scalable target and policies.

The service is the scalable target ``service/CLUSTER/NAME`` with the dimension
``ecs:service:DesiredCount``. Its policies are ``orchestrator.scaling``'s definitions — a
:class:`~orchestrator.scaling.policy.TargetTrackingPolicy` over a :class:`ServiceMetric`, or a
:class:`~orchestrator.scaling.step.StepScalingPolicy` — addressed by cluster and service
instead of by group: this module is the adapter, the arithmetic and alarms are shared.
The store keeps each kind as the JSON document it has always written
(:func:`policy_to_document`), so files written before the merge read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.arns import arn
from orchestrator.scaling.adjustment import AdjustmentType
from orchestrator.scaling.policy import TargetTrackingPolicy
from orchestrator.scaling.step import StepAdjustment, StepScalingPolicy
from orchestrator.scaling.target_tracking import TargetTrackingConfiguration

DEFAULT_COOLDOWN = 300  # Application Auto Scaling: ScaleOutCooldown / ScaleInCooldown / Cooldown
DIMENSION = "ecs:service:DesiredCount"

CPU = "ECSServiceAverageCPUUtilization"
REQUESTS = "ALBRequestCountPerTarget"
BACKLOG = "BacklogPerTask"
METRICS = (CPU, REQUESTS, BACKLOG)


@dataclass(frozen=True)
class ScalableTarget:
    cluster: str
    service: str
    min_capacity: int
    max_capacity: int

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"


@dataclass(frozen=True)
class ServiceMetric:
    """What a service's target tracking policy tracks: one of :data:`METRICS`, and the target
    group ARN (requests) or queue name (backlog) it is about."""

    metric_type: str
    resource_label: str = ""


ServicePolicyDefinition = TargetTrackingPolicy[ServiceMetric] | StepScalingPolicy


@dataclass(frozen=True)
class ServiceScalingPolicy:
    """One named policy of a service; ``definition`` is the shared scaling model's."""

    policy_name: str
    cluster: str
    service: str
    definition: ServicePolicyDefinition

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"

    @property
    def policy_arn(self) -> str:
        return scaling_policy_arn(self.resource_id, self.policy_name)

    @property
    def policy_type(self) -> str:
        if isinstance(self.definition, TargetTrackingPolicy):
            return "TargetTrackingScaling"
        return "StepScaling"

    @property
    def series(self) -> str:
        """The datapoint series a target tracking policy records its metric in."""
        metric = (
            self.definition.metric if isinstance(self.definition, TargetTrackingPolicy) else None
        )
        if metric is None:
            raise TypeError(f"{self.policy_name} is a step policy: its alarm has the series.")
        return f"{self.resource_id}/{metric.metric_type}/{metric.resource_label}"

    def answers_to(self, action: str) -> bool:
        """Whether an alarm action names this policy (CloudWatch invokes it by its ARN)."""
        return action == self.policy_arn


def tracking_configuration(
    target_value: float,
    *,
    scale_out_cooldown: int = DEFAULT_COOLDOWN,
    scale_in_cooldown: int = DEFAULT_COOLDOWN,
    disable_scale_in: bool = False,
) -> TargetTrackingConfiguration:
    """TargetTrackingScalingPolicyConfiguration with Application Auto Scaling's defaults."""
    return TargetTrackingConfiguration(
        target_value,
        disable_scale_in=disable_scale_in,
        scale_out_cooldown=scale_out_cooldown,
        scale_in_cooldown=scale_in_cooldown,
    )


def cooldown(value: int | None) -> int:
    """A cooldown as Application Auto Scaling applies it: unset is 300 s."""
    return DEFAULT_COOLDOWN if value is None else value


def policy_to_document(policy: ServiceScalingPolicy) -> dict[str, Any]:
    """The store's document: the fields ECS's policy records have always had."""
    names = {
        "policy_name": policy.policy_name,
        "cluster": policy.cluster,
        "service": policy.service,
    }
    definition = policy.definition
    if isinstance(definition, TargetTrackingPolicy):
        config = definition.configuration
        return {
            **names,
            "metric": definition.metric.metric_type,
            "target_value": config.target_value,
            "resource_label": definition.metric.resource_label,
            "scale_out_cooldown": cooldown(config.scale_out_cooldown),
            "scale_in_cooldown": cooldown(config.scale_in_cooldown),
            "disable_scale_in": config.disable_scale_in,
        }
    return {
        **names,
        "adjustment_type": definition.adjustment_type.value,
        "steps": [
            [
                step.metric_interval_lower_bound,
                step.metric_interval_upper_bound,
                step.scaling_adjustment,
            ]
            for step in definition.step_adjustments
        ],
        "cooldown": cooldown(definition.cooldown),
        "min_adjustment_magnitude": definition.min_adjustment_magnitude,
        "metric_aggregation_type": definition.metric_aggregation_type,
    }


def tracking_policy_from_document(document: dict[str, Any]) -> ServiceScalingPolicy:
    return ServiceScalingPolicy(
        document["policy_name"],
        document["cluster"],
        document["service"],
        TargetTrackingPolicy(
            ServiceMetric(document["metric"], document.get("resource_label", "")),
            tracking_configuration(
                float(document["target_value"]),
                scale_out_cooldown=int(document.get("scale_out_cooldown", DEFAULT_COOLDOWN)),
                scale_in_cooldown=int(document.get("scale_in_cooldown", DEFAULT_COOLDOWN)),
                disable_scale_in=bool(document.get("disable_scale_in", False)),
            ),
        ),
    )


def step_policy_from_document(document: dict[str, Any]) -> ServiceScalingPolicy:
    return ServiceScalingPolicy(
        document["policy_name"],
        document["cluster"],
        document["service"],
        StepScalingPolicy(
            policy_name=document["policy_name"],
            adjustment_type=AdjustmentType(document["adjustment_type"]),
            step_adjustments=tuple(
                StepAdjustment(int(adjustment), lower, upper)
                for lower, upper, adjustment in document["steps"]
            ),
            min_adjustment_magnitude=document.get("min_adjustment_magnitude"),
            metric_aggregation_type=document.get("metric_aggregation_type", "Average"),
            cooldown=int(document.get("cooldown", DEFAULT_COOLDOWN)),
        ),
    )


def scaling_policy_arn(resource_id: str, policy_name: str) -> str:
    """Application Auto Scaling's policy ARN, the name CloudWatch alarms invoke it by."""
    return arn(
        "autoscaling",
        f"scalingPolicy:barista:resource/ecs/{resource_id}:policyName/{policy_name}",
    )
