"""``barista autoscaling …``: the AWS CLI's ``aws autoscaling`` verbs against Barista's API.

Each verb is one row: the AWS action and its parameters by AWS name and kind; option names,
shorthand, JSON, ``file://`` and ``--cli-input-json`` come from ``orchestrator.cli._client``.
"""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

GROUP = Param("AutoScalingGroupName", required=True, help="the Auto Scaling group")
GROUP_FILTER = Param("AutoScalingGroupName", help="only this group")
HOOK = Param("LifecycleHookName", required=True, help="the lifecycle hook")

VERBS = (
    Verb(
        "CreateAutoScalingGroup",
        (
            GROUP,
            Param(
                "LaunchTemplate",
                "structure",
                required=True,
                help="LaunchTemplateName=NAME|LaunchTemplateId=ID,Version=N|$Latest|$Default",
            ),
            Param("MinSize", "integer", required=True),
            Param("MaxSize", "integer", required=True),
            Param("DesiredCapacity", "integer", help="defaults to MinSize"),
            Param("AvailabilityZones", "strings", help="zones to spread instances over"),
            Param("HealthCheckType", help="EC2 or ELB"),
            Param("HealthCheckGracePeriod", "integer", help="seconds (API default 0)"),
            Param("DefaultCooldown", "integer", help="seconds (default 300)"),
            Param("TerminationPolicies", "strings"),
            Param("NewInstancesProtectedFromScaleIn", "boolean"),
            Param("CapacityRebalance", "boolean"),
            Param("DefaultInstanceWarmup", "integer", help="seconds (not enabled by default)"),
            Param("MaxInstanceLifetime", "integer", help="seconds in service before replacement"),
            Param("TargetGroupARNs", "strings", help="target groups its instances join"),
        ),
        "Create an Auto Scaling group of containers from a launch template.",
    ),
    Verb(
        "UpdateAutoScalingGroup",
        (
            GROUP,
            Param("LaunchTemplate", "structure"),
            Param("MinSize", "integer"),
            Param("MaxSize", "integer"),
            Param("DesiredCapacity", "integer"),
            Param("AvailabilityZones", "strings"),
            Param("HealthCheckType"),
            Param("HealthCheckGracePeriod", "integer"),
            Param("DefaultCooldown", "integer"),
            Param("TerminationPolicies", "strings"),
            Param("NewInstancesProtectedFromScaleIn", "boolean"),
            Param("CapacityRebalance", "boolean"),
            Param("DefaultInstanceWarmup", "integer", help="seconds; -1 turns it off"),
            Param("MaxInstanceLifetime", "integer", help="seconds; 0 clears it"),
        ),
        "Change a group; min, max and desired are validated together.",
    ),
    Verb(
        "DeleteAutoScalingGroup",
        (GROUP, Param("ForceDelete", "boolean", help="also terminate its instances")),
        "Delete a group (refused while it has instances, unless --force-delete).",
    ),
    Verb(
        "DescribeAutoScalingGroups",
        (Param("AutoScalingGroupNames", "strings"), Param("MaxRecords", "integer")),
        "Groups with their instances (from Docker) and suspended processes.",
    ),
    Verb(
        "DescribeAutoScalingInstances",
        (Param("InstanceIds", "strings"), Param("MaxRecords", "integer")),
        "Instances of every group, one row each.",
    ),
    Verb(
        "SetDesiredCapacity",
        (
            GROUP,
            Param("DesiredCapacity", "integer", required=True),
            Param("HonorCooldown", "boolean", help="refuse while the group is in its cooldown"),
        ),
        "Set desired capacity within [min, max].",
    ),
    Verb(
        "SetInstanceProtection",
        (
            GROUP,
            Param("InstanceIds", "strings", required=True),
            Param("ProtectedFromScaleIn", "boolean", required=True),
        ),
        "Protect instances from scale-in, or remove the protection.",
    ),
    Verb(
        "SuspendProcesses",
        (GROUP, Param("ScalingProcesses", "strings", help="none means all")),
        "Suspend scaling processes (Launch, Terminate, HealthCheck, AZRebalance, …).",
    ),
    Verb(
        "ResumeProcesses",
        (GROUP, Param("ScalingProcesses", "strings", help="none means all")),
        "Resume suspended scaling processes.",
    ),
    Verb(
        "TerminateInstanceInAutoScalingGroup",
        (
            Param("InstanceId", required=True),
            Param("ShouldDecrementDesiredCapacity", "boolean", required=True),
        ),
        "Terminate one instance (answers at once; hooks and draining run after); without "
        "decrementing, the group replaces it.",
    ),
    Verb(
        "PutLifecycleHook",
        (
            GROUP,
            HOOK,
            Param(
                "LifecycleTransition",
                help="autoscaling:EC2_INSTANCE_LAUNCHING or autoscaling:EC2_INSTANCE_TERMINATING",
            ),
            Param("HeartbeatTimeout", "integer", help="seconds, 30-7200 (default 3600)"),
            Param("DefaultResult", help="CONTINUE or ABANDON (default ABANDON)"),
            Param("NotificationTargetARN", help="an SQS queue or SNS topic of Barista"),
            Param("RoleARN", help="kept and shown; Barista has no IAM"),
            Param("NotificationMetadata"),
        ),
        "Create or change a lifecycle hook: instances wait in Pending:Wait or Terminating:Wait.",
    ),
    Verb(
        "DescribeLifecycleHooks",
        (GROUP, Param("LifecycleHookNames", "strings")),
        "A group's lifecycle hooks, with their timeouts.",
    ),
    Verb("DeleteLifecycleHook", (GROUP, HOOK), "Delete a lifecycle hook."),
    Verb(
        "CompleteLifecycleAction",
        (
            GROUP,
            HOOK,
            Param("LifecycleActionResult", required=True, help="CONTINUE or ABANDON"),
            Param("InstanceId", help="the waiting instance, or"),
            Param("LifecycleActionToken", help="the action's token"),
        ),
        "Let a waiting instance go on (CONTINUE) or give it up (ABANDON).",
    ),
    Verb(
        "RecordLifecycleActionHeartbeat",
        (GROUP, HOOK, Param("InstanceId"), Param("LifecycleActionToken")),
        "Restart a waiting instance's heartbeat timeout (never past the global timeout).",
    ),
    Verb("DescribeLifecycleHookTypes", (), "The transitions a lifecycle hook may name."),
    Verb(
        "PutScalingPolicy",
        (
            GROUP,
            Param("PolicyName", required=True),
            Param(
                "PolicyType",
                help="TargetTrackingScaling, StepScaling, SimpleScaling or PredictiveScaling",
            ),
            Param(
                "AdjustmentType", help="ChangeInCapacity, ExactCapacity, PercentChangeInCapacity"
            ),
            Param("MinAdjustmentMagnitude", "integer"),
            Param("ScalingAdjustment", "integer"),
            Param("Cooldown", "integer"),
            Param("MetricAggregationType"),
            Param("StepAdjustments", "structures"),
            Param("EstimatedInstanceWarmup", "integer"),
            Param("TargetTrackingConfiguration", "structure", help="JSON or file://cfg.json"),
            Param("PredictiveScalingConfiguration", "structure", help="JSON or file://cfg.json"),
            Param("Enabled", "boolean"),
        ),
        "Create or replace a scaling policy.",
    ),
    Verb(
        "DescribePolicies",
        (
            GROUP_FILTER,
            Param("PolicyNames", "strings"),
            Param("PolicyTypes", "strings"),
            Param("MaxRecords", "integer"),
        ),
        "Scaling policies with their ARNs and alarms.",
    ),
    Verb(
        "GetPredictiveScalingForecast",
        (
            GROUP,
            Param("PolicyName", required=True, help="a PredictiveScaling policy"),
            Param("StartTime", "timestamp", required=True, help="ISO 8601, inclusive"),
            Param("EndTime", "timestamp", required=True, help="exclusive; at most 30 days on"),
        ),
        "A predictive policy's hourly load and capacity forecast (the next 48 hours).",
    ),
    Verb(
        "DeletePolicy",
        (GROUP_FILTER, Param("PolicyName", required=True, help="name or ARN")),
        "Delete a scaling policy.",
    ),
    Verb(
        "PutScheduledUpdateGroupAction",
        (
            GROUP,
            Param("ScheduledActionName", required=True),
            Param("StartTime", "timestamp", help="ISO 8601, e.g. 2026-11-28T09:00:00Z"),
            Param("EndTime", "timestamp"),
            Param("Recurrence", help="cron: minute hour day month weekday"),
            Param("MinSize", "integer"),
            Param("MaxSize", "integer"),
            Param("DesiredCapacity", "integer"),
            Param("TimeZone", help="IANA name, default UTC"),
        ),
        "Create or replace a scheduled action.",
    ),
    Verb(
        "DescribeScheduledActions",
        (
            GROUP_FILTER,
            Param("ScheduledActionNames", "strings"),
            Param("MaxRecords", "integer"),
        ),
        "Scheduled actions with their next run.",
    ),
    Verb(
        "DeleteScheduledAction",
        (GROUP, Param("ScheduledActionName", required=True)),
        "Delete a scheduled action.",
    ),
    Verb(
        "DescribeScalingActivities",
        (GROUP_FILTER, Param("ActivityIds", "strings"), Param("MaxRecords", "integer")),
        "Why each instance was launched or terminated, newest first.",
    ),
    Verb("DescribeTerminationPolicyTypes", (), "Termination policies a group may use."),
    Verb("DescribeScalingProcessTypes", (), "Processes SuspendProcesses accepts."),
    Verb(
        "PutWarmPool",
        (
            GROUP,
            Param(
                "MaxGroupPreparedCapacity",
                "integer",
                help="group and pool together at most (default: the group's MaxSize; -1 too)",
            ),
            Param("MinSize", "integer", help="instances the pool keeps at least (default 0)"),
            Param("PoolState", help="Stopped (default), Running or Hibernated"),
            Param("InstanceReusePolicy", "structure", help="ReuseOnScaleIn=true|false"),
        ),
        "Create or change the group's warm pool of pre-initialised instances.",
    ),
    Verb(
        "DescribeWarmPool",
        (GROUP, Param("MaxRecords", "integer")),
        "The warm pool's configuration and its instances (Warmed:* states).",
    ),
    Verb(
        "DeleteWarmPool",
        (GROUP, Param("ForceDelete", "boolean", help="delete without waiting for instances")),
        "Delete the warm pool; its instances are terminated.",
    ),
    Verb(
        "StartInstanceRefresh",
        (
            GROUP,
            Param(
                "DesiredConfiguration",
                "structure",
                help="LaunchTemplate={LaunchTemplateName=NAME,Version=N}",
            ),
            Param(
                "Preferences",
                "structure",
                help="MinHealthyPercentage=90,MaxHealthyPercentage=100,InstanceWarmup=S,"
                "CheckpointPercentages=[50,100],CheckpointDelay=S,SkipMatching=false,"
                "AutoRollback=false",
            ),
            Param("Strategy", help="Rolling (the only strategy)"),
        ),
        "Replace the group's instances onto its (or a new) launch template version.",
    ),
    Verb(
        "DescribeInstanceRefreshes",
        (GROUP, Param("InstanceRefreshIds", "strings"), Param("MaxRecords", "integer")),
        "The group's instance refreshes, newest first, with their progress.",
    ),
    Verb(
        "CancelInstanceRefresh",
        (GROUP, Param("WaitForTransitioningInstances", "boolean")),
        "Stop the group's active instance refresh after the replacements under way.",
    ),
    Verb(
        "RollbackInstanceRefresh",
        (GROUP,),
        "Restore the launch template the refresh replaced and replace the new instances.",
    ),
    Verb(
        "AttachLoadBalancerTargetGroups",
        (GROUP, Param("TargetGroupARNs", "strings", required=True)),
        "Register the group's instances, now and later, with target groups.",
    ),
    Verb(
        "DetachLoadBalancerTargetGroups",
        (GROUP, Param("TargetGroupARNs", "strings", required=True)),
        "Deregister the group's instances (they drain) and detach the target groups.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(
        commands, "autoscaling", VERBS, help="EC2 Auto Scaling: groups, policies, schedules"
    )
