"""``barista cloudwatch …``: the metric alarms step and simple scaling need, and statistics.

Alarms watch ``AWS/SQS ApproximateNumberOfMessagesVisible`` (dimension QueueName) or
``AWS/EC2 CPUUtilization`` (dimension AutoScalingGroupName); ``--alarm-actions`` takes the
PolicyARN that ``barista autoscaling put-scaling-policy`` printed.
"""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

METRIC = (
    Param("Namespace", required=True, help="AWS/SQS or AWS/EC2"),
    Param("MetricName", required=True, help="ApproximateNumberOfMessagesVisible or CPUUtilization"),
    Param("Dimensions", "structures", help="Name=QueueName,Value=orders"),
)

VERBS = (
    Verb(
        "PutMetricAlarm",
        (
            Param("AlarmName", required=True),
            *METRIC,
            Param("Statistic", help="Average, Sum, Minimum, Maximum, SampleCount"),
            Param("Period", "integer", help="seconds (default 60)"),
            Param("EvaluationPeriods", "integer", required=True),
            Param("DatapointsToAlarm", "integer"),
            Param("Threshold", "number", required=True),
            Param("ComparisonOperator", required=True),
            Param("AlarmActions", "strings", help="scaling policy ARNs"),
        ),
        "Create or replace a metric alarm that invokes scaling policies.",
    ),
    Verb(
        "DescribeAlarms",
        (
            Param("AlarmNames", "strings"),
            Param("AlarmNamePrefix"),
            Param("StateValue", help="OK, ALARM or INSUFFICIENT_DATA"),
            Param("ActionPrefix"),
            Param("MaxRecords", "integer"),
        ),
        "Alarms with their state evaluated from the recorded datapoints.",
    ),
    Verb(
        "DeleteAlarms",
        (Param("AlarmNames", "strings", required=True),),
        "Delete alarms.",
    ),
    Verb(
        "GetMetricStatistics",
        (
            *METRIC,
            Param("StartTime", "timestamp", required=True),
            Param("EndTime", "timestamp", required=True),
            Param("Period", "integer", required=True),
            Param("Statistics", "strings", required=True),
        ),
        "Statistics of a recorded metric per period.",
    ),
    Verb(
        "PutMetricData",
        (
            Param("Namespace", required=True, help="e.g. Barista/Shop, or AWS/SQS for history"),
            Param(
                "MetricData",
                "structures",
                required=True,
                help="MetricName=Orders,Value=12,Timestamp=2026-11-28T08:00:00Z (or JSON)",
            ),
        ),
        "Add datapoints (up to two weeks old) to a metric.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(commands, "cloudwatch", VERBS, help="CloudWatch metric alarms")
