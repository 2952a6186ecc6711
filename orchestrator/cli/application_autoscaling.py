"""``barista application-autoscaling …``: service auto scaling verbs, shaped like the AWS CLI's."""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

TARGET = (
    Param("ServiceNamespace", required=True, help="ecs"),
    Param("ResourceId", required=True, help="service/CLUSTER/SERVICE"),
    Param("ScalableDimension", required=True, help="ecs:service:DesiredCount"),
)

VERBS = (
    Verb(
        "RegisterScalableTarget",
        (*TARGET, Param("MinCapacity", "integer"), Param("MaxCapacity", "integer")),
        "Bound a service's desired count for scaling policies.",
    ),
    Verb(
        "DescribeScalableTargets",
        (Param("ServiceNamespace", required=True), Param("ResourceIds", "strings")),
        "Scalable targets and their bounds.",
    ),
    Verb("DeregisterScalableTarget", TARGET, "Stop scaling a service; its policies go too."),
    Verb(
        "PutScalingPolicy",
        (
            Param("PolicyName", required=True),
            *TARGET,
            Param("PolicyType", help="TargetTrackingScaling or StepScaling"),
            Param(
                "TargetTrackingScalingPolicyConfiguration",
                "structure",
                help="JSON or file://: TargetValue, PredefinedMetricSpecification or "
                "CustomizedMetricSpecification (SQS backlog), ScaleOutCooldown, ScaleInCooldown",
            ),
            Param(
                "StepScalingPolicyConfiguration",
                "structure",
                help="AdjustmentType, StepAdjustments, Cooldown (invoked by a CloudWatch alarm)",
            ),
        ),
        "Target tracking on CPU, ALB requests per target, or backlog per task; step scaling.",
    ),
    Verb(
        "DescribeScalingPolicies",
        (
            Param("ServiceNamespace", required=True),
            Param("ResourceId"),
            Param("PolicyNames", "strings"),
        ),
        "Scaling policies.",
    ),
    Verb(
        "DeleteScalingPolicy",
        (Param("PolicyName", required=True), *TARGET),
        "Delete a scaling policy.",
    ),
    Verb(
        "DescribeScalingActivities",
        (
            Param("ServiceNamespace", required=True),
            Param("ResourceId"),
            Param("MaxResults", "integer"),
        ),
        "Desired count changes and their causes, newest first.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(
        commands,
        "application-autoscaling",
        VERBS,
        help="Application Auto Scaling: ECS service desired count",
    )
