"""What Application Auto Scaling keeps for an ECS service: its scalable target and policies.

The service is the scalable target ``service/CLUSTER/NAME`` with the dimension
``ecs:service:DesiredCount``; the arithmetic its policies run is ``orchestrator.scaling``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.ecs.task_definition import ACCOUNT, REGION

DEFAULT_COOLDOWN = 300  # Application Auto Scaling: ScaleOutCooldown / ScaleInCooldown


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
class TargetTrackingPolicy:
    policy_name: str
    cluster: str
    service: str
    metric: str  # one of METRICS
    target_value: float
    resource_label: str = ""  # target group ARN (requests) or queue name (backlog)
    scale_out_cooldown: int = DEFAULT_COOLDOWN
    scale_in_cooldown: int = DEFAULT_COOLDOWN
    disable_scale_in: bool = False

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"

    @property
    def series(self) -> str:
        return f"{self.resource_id}/{self.metric}/{self.resource_label}"


@dataclass(frozen=True)
class ScalingActivity:
    activity_id: str
    resource_id: str
    start_time: float
    description: str
    cause: str
    status_code: str = "Successful"


@dataclass(frozen=True)
class StepPolicy:
    """A StepScaling policy on a service: run while a CloudWatch alarm naming its ARN in
    AlarmActions is in ALARM. ``steps`` are (lower bound, upper bound, adjustment), bounds
    relative to the alarm's threshold, None for unbounded."""

    policy_name: str
    cluster: str
    service: str
    adjustment_type: str  # ChangeInCapacity | PercentChangeInCapacity | ExactCapacity
    steps: tuple[tuple[float | None, float | None, int], ...]
    cooldown: int = DEFAULT_COOLDOWN
    min_adjustment_magnitude: int | None = None
    metric_aggregation_type: str = "Average"

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"


def scaling_policy_arn(resource_id: str, policy_name: str) -> str:
    """Application Auto Scaling's policy ARN, the name CloudWatch alarms invoke it by."""
    return (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:barista:resource/ecs/"
        f"{resource_id}:policyName/{policy_name}"
    )
