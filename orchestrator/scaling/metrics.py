"""Which measurement a policy or alarm watches: the metric *specification*, not its value.

Barista measures two things, the two AWS recommends for a group of queue workers:

* :class:`QueueBacklogMetric`: SQS's ApproximateNumberOfMessagesVisible for one queue, read
  from ``broker_adapters`` (``Broker.backlog``: visible + in flight) on any backend;
* :class:`CpuUtilizationMetric`: ASGAverageCPUUtilization, the average CPU of a group's
  instances past warm-up, read from the runtime.

A target tracking policy on a queue divides the backlog by the in-service instances itself
(AWS's "backlog per instance" metric math), so both specs name a single raw series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import ValidationError

PERIOD = 60  # seconds: CloudWatch's standard resolution, the period of Barista's datapoints
# A target tracking policy may observe its metric at a shorter Period (EC2 Auto Scaling's
# TargetTrackingMetricStat: 10, 30 or 60 seconds; nothing above 60).
TARGET_TRACKING_PERIODS = (10, 30, PERIOD)


def _with_period(key: str, period: int) -> str:
    """A high-resolution series lives beside the one-minute series of the same metric, so a
    one-minute alarm never counts ten-second datapoints as minutes."""
    return key if period == PERIOD else f"{key}/Period={period}"


@dataclass(frozen=True)
class QueueBacklogMetric:
    queue_name: str
    period: int = PERIOD

    @property
    def key(self) -> str:
        """A stable name for the datapoint series, shared by every policy watching it."""
        base = f"AWS/SQS/ApproximateNumberOfMessagesVisible/QueueName={self.queue_name}"
        return _with_period(base, self.period)


@dataclass(frozen=True)
class CpuUtilizationMetric:
    auto_scaling_group_name: str
    period: int = PERIOD

    @property
    def key(self) -> str:
        base = f"AWS/EC2/CPUUtilization/AutoScalingGroupName={self.auto_scaling_group_name}"
        return _with_period(base, self.period)


MetricSpec = QueueBacklogMetric | CpuUtilizationMetric


def series_key(namespace: str, metric_name: str, dimensions: Sequence[tuple[str, str]]) -> str:
    """The series any CloudWatch metric's datapoints live in (PutMetricData, history).

    For the two metrics Barista samples itself this is their ``key``, so a datapoint a caller
    puts and one the sampler records land in the same series.
    """
    return "/".join([namespace, metric_name, *(f"{name}={value}" for name, value in dimensions)])


def total_cpu_series(metric: CpuUtilizationMetric) -> str:
    """ASGTotalCPUUtilization: the sum of the group's instances' CPU, the load predictive
    scaling forecasts for the ASGCPUUtilization metric pair."""
    return f"{metric.key}/Total"


def metric_to_document(metric: MetricSpec) -> dict[str, Any]:
    period = {} if metric.period == PERIOD else {"period": metric.period}
    if isinstance(metric, QueueBacklogMetric):
        return {"kind": "queue_backlog", "queue_name": metric.queue_name, **period}
    return {"kind": "cpu", "auto_scaling_group_name": metric.auto_scaling_group_name, **period}


def metric_from_document(document: dict[str, Any]) -> MetricSpec:
    period = document.get("period", PERIOD)
    if document["kind"] == "queue_backlog":
        return QueueBacklogMetric(document["queue_name"], period)
    if document["kind"] == "cpu":
        return CpuUtilizationMetric(document["auto_scaling_group_name"], period)
    raise ValidationError(f"Unknown metric kind {document['kind']!r}.")
