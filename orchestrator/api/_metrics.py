"""CloudWatch metric names for the two things Barista measures, and back.

Barista records two series (``orchestrator.scaling.metrics``); on the wire they keep the names
CloudWatch gives them, so an alarm or a policy copied from AWS's documentation works:

* ``AWS/SQS`` ``ApproximateNumberOfMessagesVisible`` with dimension ``QueueName``;
* ``AWS/EC2`` ``CPUUtilization`` with dimension ``AutoScalingGroupName``.

Anything else is refused with a message that lists these two, never guessed at.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.api._requests import Request
from orchestrator.errors import ValidationError
from orchestrator.scaling.metrics import CpuUtilizationMetric, MetricSpec, QueueBacklogMetric

SQS = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
EC2_CPU = ("AWS/EC2", "CPUUtilization", "AutoScalingGroupName")
IN_SERVICE = ("AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName")

SUPPORTED_METRICS = (
    "AWS/SQS ApproximateNumberOfMessagesVisible (dimension QueueName) and "
    "AWS/EC2 CPUUtilization (dimension AutoScalingGroupName)"
)


class Dimension(Request):
    name: str = Field(min_length=1, max_length=255)
    value: str = Field(min_length=1, max_length=1024)


def _single_dimension(dimensions: list[Dimension], wanted: str, metric: str) -> str:
    if len(dimensions) != 1 or dimensions[0].name != wanted:
        given = ", ".join(d.name for d in dimensions) or "none"
        raise ValidationError(
            f"Metric {metric} needs exactly one dimension, {wanted}; got {given}."
        )
    return dimensions[0].value


def metric_spec(namespace: str, metric_name: str, dimensions: list[Dimension]) -> MetricSpec:
    """The series a CloudWatch metric name denotes, or a ValidationError naming what works."""
    if (namespace, metric_name) == SQS[:2]:
        return QueueBacklogMetric(_single_dimension(dimensions, SQS[2], metric_name))
    if (namespace, metric_name) == EC2_CPU[:2]:
        return CpuUtilizationMetric(_single_dimension(dimensions, EC2_CPU[2], metric_name))
    raise ValidationError(
        f"Unsupported metric {namespace} {metric_name}: Barista measures {SUPPORTED_METRICS}."
    )


def metric_identity(metric: MetricSpec) -> dict[str, Any]:
    """Namespace, MetricName and Dimensions of a series, as CloudWatch answers them."""
    if isinstance(metric, QueueBacklogMetric):
        namespace, name, dimension, value = *SQS, metric.queue_name
    else:
        namespace, name, dimension, value = *EC2_CPU, metric.auto_scaling_group_name
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": dimension, "Value": value}],
    }
