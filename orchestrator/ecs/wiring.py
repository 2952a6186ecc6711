"""Building the ECS controllers for ``barista serve orchestrator`` from what it already has.

``ecs_controllers`` returns the task/service controller and the service auto scaling
controller over one store, wired to the Auto Scaling runtime (capacity providers), the ELB
controller (target registration and draining) and the broker's backlog (backlog per task).
The control loop calls ``scaling.reconcile_once()`` then ``ecs.reconcile_once()`` each pass,
on its own thread (each controller opens its own SQLite connection there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from orchestrator.ecs.capacity import StoreAsgCapacity
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.load_balancing import ElbRequestCounter, ElbTargetRegistry
from orchestrator.ecs.service_scaling import ServiceScalingController
from orchestrator.elb.controller import ElbController
from orchestrator.loop import START_CONCURRENCY
from orchestrator.runtime import Runtime
from orchestrator.runtime.swarm import SwarmRuntime
from orchestrator.runtime.swarm_tasks import SwarmTaskRuntime
from orchestrator.runtime.tasks import DockerTaskRuntime, TaskRuntime
from orchestrator.time_scale import TimeScale


class ControlPlaneMetrics:
    """Backlog from the broker, request counts from the load balancer's HAProxy."""

    def __init__(
        self, backlog: Callable[[str], int] | None, elb: ElbController | None = None
    ) -> None:
        self._backlog = backlog
        self._requests = ElbRequestCounter(elb) if elb is not None else None

    def queue_backlog(self, queue_name: str) -> int | None:
        return None if self._backlog is None else self._backlog(queue_name)

    def request_count(self, target_group_arn: str) -> int | None:
        if self._requests is None:
            return None
        return self._requests.request_count(target_group_arn)


def ecs_controllers(
    store_path: str | Path,
    instances: Runtime,
    *,
    clock: Callable[[], float],
    time_scale: TimeScale,
    labels: Mapping[str, str] | None = None,
    elb: ElbController | None = None,
    backlog: Callable[[str], int] | None = None,
    network: str | None = None,
) -> tuple[EcsController, ServiceScalingController]:
    """``labels`` are the extra labels the instance runtime uses (INSTANCE_LABELS): task
    containers carry them too, and only those are managed."""
    tasks = task_runtime(instances, labels)
    ecs = EcsController(
        store_path,
        tasks,
        clock=clock,
        time_scale=time_scale,
        targets=ElbTargetRegistry(elb) if elb is not None else None,
        network=network,
        capacity=StoreAsgCapacity(store_path, instances),
        start_workers=START_CONCURRENCY,
    )
    scaling = ServiceScalingController(
        store_path, tasks, clock=clock, metrics=ControlPlaneMetrics(backlog, elb)
    )
    return ecs, scaling


def task_runtime(instances: Runtime, labels: Mapping[str, str] | None = None) -> TaskRuntime:
    """Tasks run where instances do: on this Docker engine, or on the nodes of the Swarm
    whose manager the instances' runtime talks to (its overlay network too)."""
    if isinstance(instances, SwarmRuntime):
        return SwarmTaskRuntime(instances.client, network=instances.network, labels=labels)
    return DockerTaskRuntime(labels=labels)
