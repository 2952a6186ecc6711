"""The CloudWatch of Barista: one datapoint per metric per period, kept in the store.

Policies and alarms read datapoints, never live values, so what triggered a scaling decision
is on record (the dashboard draws the same series) and a restarted orchestrator keeps its
alarm history. A series keeps 14 days (what predictive scaling reads), the last day at full
resolution and the days before as hourly means. Two kinds of series are sampled:

* a queue's backlog: ``Broker.backlog(queue).total`` (visible + in flight), the
  ApproximateNumberOfMessages that backlog-per-instance tracking divides;
* each instance's CPU, in percent of the vCPUs its launch template gives it (AWS's
  CPUUtilization), under ``{group series}/InstanceId={id}``; the group's average is sampled
  alongside, over its running instances.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from broker_adapters import QueueNotDeclared
from orchestrator.instances import Health, Instance
from orchestrator.launch_templates import LaunchTemplate
from orchestrator.runtime import Runtime
from orchestrator.scaling.metrics import (
    CpuUtilizationMetric,
    MetricSpec,
    QueueBacklogMetric,
    total_cpu_series,
)

log = logging.getLogger(__name__)

# How much history to keep per series: predictive scaling reads up to 14 days of a load metric
# (AWS's window); alarms read minutes of it and the dashboard a day. An instance's own CPU is
# read only for the group's current average, so a day of it is plenty.
RETENTION = 14 * 24 * 3600
INSTANCE_RETENTION = 24 * 3600
# Beyond a day a series is kept as hourly means: all a forecast reads of it (its hours), and a
# fourteenth of the rows. Alarms and the dashboard read the last day, at full resolution.
FULL_RESOLUTION = 24 * 3600
DOWNSAMPLED_PERIOD = 3600
_STATS_WORKERS = 8  # docker stats takes about a second per container; sample them together

BacklogReader = Callable[[str], int]


class MetricsStore(Protocol):
    """What the sampler needs of the store (Auto Scaling's, which holds the datapoint table
    and the launch templates): declared here so that monitoring does not import Auto Scaling,
    whose scaling controller reads monitoring."""

    def datapoints(self, series: str, limit: int = 60) -> list[tuple[float, float]]: ...

    def record_datapoint(
        self, series: str, timestamp: float, value: float, keep: float
    ) -> None: ...

    def downsample(self, series: str, before: float, bucket: int) -> None: ...

    def launch_templates(self) -> dict[str, LaunchTemplate]: ...


def instance_series(metric: CpuUtilizationMetric, instance_id: str) -> str:
    return f"{metric.key}/InstanceId={instance_id}"


class MetricsSampler:
    """Records a datapoint for each watched metric whose newest one is a period old."""

    def __init__(
        self, store: MetricsStore, runtime: Runtime, backlog: BacklogReader | None
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.backlog = backlog
        self._pool = ThreadPoolExecutor(_STATS_WORKERS, thread_name_prefix="cpu-sample")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sample(self, metrics: Iterable[MetricSpec], now: float) -> None:
        templates: dict[str, LaunchTemplate] | None = None
        for metric in set(metrics):
            newest = self.store.datapoints(metric.key, limit=1)
            if newest and now - newest[0][0] < metric.period:
                continue
            if newest and newest[0][0] // DOWNSAMPLED_PERIOD != now // DOWNSAMPLED_PERIOD:
                self._downsample(metric, now)  # once an hour per series
            try:
                if isinstance(metric, QueueBacklogMetric):
                    self._sample_backlog(metric, now)
                else:
                    templates = (
                        templates if templates is not None else self.store.launch_templates()
                    )
                    self._sample_cpu(metric, templates, now)
            except QueueNotDeclared as error:
                # Normal until the first worker declares the queue: no datapoint, no noise.
                log.info("queue not there yet", extra={"metric": metric.key, "reason": str(error)})
            except Exception:
                # A broker restarting or a container vanishing costs one datapoint, as a gap in
                # CloudWatch would; alarms then see fewer points, never a made-up one.
                log.warning("metric sample failed", extra={"metric": metric.key}, exc_info=True)

    def _downsample(self, metric: MetricSpec, now: float) -> None:
        series = [metric.key]
        if isinstance(metric, CpuUtilizationMetric):
            series.append(total_cpu_series(metric))
        for name in series:
            self.store.downsample(name, now - FULL_RESOLUTION, DOWNSAMPLED_PERIOD)

    def _sample_backlog(self, metric: QueueBacklogMetric, now: float) -> None:
        if self.backlog is None:
            return
        value = float(self.backlog(metric.queue_name))
        self.store.record_datapoint(metric.key, now, value, keep=RETENTION)

    def _sample_cpu(
        self, metric: CpuUtilizationMetric, templates: dict[str, LaunchTemplate], now: float
    ) -> None:
        running = [
            i
            for i in self.runtime.instances(metric.auto_scaling_group_name)
            if i.health in (Health.HEALTHY, Health.STARTING, Health.UNHEALTHY)
        ]
        samples = self._pool.map(lambda i: (i, self._cpu(i, templates)), running)
        values = []
        for instance, value in samples:
            if value is None:
                continue
            values.append(value)
            series = instance_series(metric, instance.instance_id)
            self.store.record_datapoint(series, now, value, keep=INSTANCE_RETENTION)
        if values:
            self.store.record_datapoint(metric.key, now, sum(values) / len(values), keep=RETENTION)
            self.store.record_datapoint(total_cpu_series(metric), now, sum(values), keep=RETENTION)

    def _cpu(self, instance: Instance, templates: dict[str, LaunchTemplate]) -> float | None:
        percent_of_one_core = self.runtime.cpu_percent(instance.instance_id)
        if percent_of_one_core is None:
            return None
        return percent_of_one_core / _vcpus(instance, templates)


def _vcpus(instance: Instance, templates: dict[str, LaunchTemplate]) -> float:
    """The instance's CPU allowance: the template's limit, else every core of the host."""
    template = templates.get(instance.launch_template)
    data = template.versions.get(instance.template_version) if template else None
    if data is not None and data.cpus:
        return data.cpus
    return float(os.cpu_count() or 1)
