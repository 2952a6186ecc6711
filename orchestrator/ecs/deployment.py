"""The service scheduler's decisions for one pass: rolling deployments and the circuit
breaker (pure).

``plan_service`` compares a service's deployments with its tasks and answers how many tasks
the primary deployment should start, which tasks to stop, and the deployments as they should
be stored afterwards, with the service events to record. It keeps no memory: failures are
counted from the stored task records, so a restarted controller decides the same.

Rolling update, as ECS does it (REPLICA services):

* at most ``floor(desired * maximumPercent / 100)`` tasks of the service are live (desired
  status RUNNING, any deployment, including those still PROVISIONING);
* the primary deployment starts tasks up to the desired count within that room;
* tasks of older deployments are stopped: the ones not counting healthy at once, the healthy
  ones only while at least ``ceil(desired * minimumHealthyPercent / 100)`` healthy tasks
  stay;
* the deployment is COMPLETED when the primary runs the desired count, all healthy, and no
  older task is left; older deployments are then dropped.

Deployment circuit breaker: a primary-deployment task that stops before it ever counted
healthy is a failure, and a task of the deployment becoming healthy resets the count
(resetOnHealthyTask's default). When failures reach ``circuit_breaker_threshold(desired)`` the
deployment is FAILED and launches no more tasks; with rollback, the most recent COMPLETED
deployment becomes the primary again (IN_PROGRESS until it completes anew).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.ecs.model import (
    Deployment,
    Service,
    StopCode,
    Task,
    TaskStatus,
    circuit_breaker_threshold,
)

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
PRIMARY = "PRIMARY"
ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class ServicePlan:
    start: int = 0
    stop: tuple[Task, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    task_definition: str = ""
    events: tuple[str, ...] = ()
    steady: bool = False

    @property
    def changes_deployments(self) -> bool:
        return bool(self.events)


def counts_healthy(task: Task) -> bool:
    return (
        task.desired_status is TaskStatus.RUNNING
        and task.last_status is TaskStatus.RUNNING
        and task.was_healthy
    )


def failed_to_start(task: Task) -> bool:
    """Stopped before ever counting healthy, by its own doing (exit, failed health checks),
    not by the scheduler or a user."""
    return (
        task.desired_status is TaskStatus.STOPPED
        and not task.was_healthy
        and (
            task.stop_code in (StopCode.ESSENTIAL_CONTAINER_EXITED, StopCode.TASK_FAILED_TO_START)
            or (task.stopped_reason or "").startswith("Task failed")
        )
    )


def failures(deployment: Deployment, tasks: Sequence[Task]) -> int:
    """Failed tasks of the deployment since its last task became healthy: a healthy task
    resets the count (resetOnHealthyTask, true by default)."""
    mine = [t for t in tasks if t.deployment_id == deployment.deployment_id]
    last_healthy = max((t.healthy_at for t in mine if t.healthy_at is not None), default=None)
    return sum(
        1
        for t in mine
        if failed_to_start(t)
        and (last_healthy is None or (t.stopping_at or t.stopped_at or 0.0) > last_healthy)
    )


def plan_service(service: Service, tasks: Sequence[Task], now: float) -> ServicePlan:
    """What the scheduler does for ``service`` this pass."""
    name = f"(service {service.name})"
    desired = service.desired_count
    config = service.deployment_configuration
    deployments = list(service.deployments)
    task_definition = service.task_definition
    events: list[str] = []
    primary = service.primary

    if (
        config.circuit_breaker_enable
        and primary.rollout_state == IN_PROGRESS
        and failures(primary, tasks) >= circuit_breaker_threshold(desired)
    ):
        deployments, primary, tripped = _trip(service, now)
        events.extend(tripped)
        task_definition = primary.task_definition

    live = [t for t in tasks if t.desired_status is TaskStatus.RUNNING]
    primary_live = [t for t in live if t.deployment_id == primary.deployment_id]
    old_live = [t for t in live if t.deployment_id != primary.deployment_id]
    healthy = [t for t in live if counts_healthy(t)]
    max_total = math.floor(desired * config.maximum_percent / 100)
    min_healthy = math.ceil(desired * config.minimum_healthy_percent / 100)

    start = 0
    if primary.rollout_state != FAILED:
        need = desired - len(primary_live)
        start = max(0, min(need, max_total - len(live))) if old_live else max(0, need)

    stop: list[Task] = [t for t in old_live if not counts_healthy(t)]
    budget = len(healthy) - min_healthy
    older_first = sorted(
        (t for t in old_live if counts_healthy(t)), key=lambda t: (t.created_at, t.task_id)
    )
    for task in older_first:
        if budget <= 0:
            break
        stop.append(task)
        budget -= 1
    excess = len(primary_live) - desired
    if excess > 0:
        # Scale-in: tasks that are not (yet) healthy first, then the newest.
        ranked = sorted(primary_live, key=lambda t: (counts_healthy(t), -t.created_at, t.task_id))
        stop.extend(ranked[:excess])

    remaining_old = [t for t in old_live if t not in stop]
    primary_done = (
        not remaining_old
        and not old_live
        and len(primary_live) == desired
        and all(counts_healthy(t) for t in primary_live)
        and start == 0
        and not stop
    )
    if primary_done and primary.rollout_state == IN_PROGRESS:
        completed = dataclasses.replace(
            primary,
            rollout_state=COMPLETED,
            rollout_state_reason="ECS deployment completed.",
            updated_at=now,
        )
        events.append(f"{name} (deployment {primary.deployment_id}) deployment completed.")
        deployments = [completed]
    elif primary_done and len(deployments) > 1 and primary.rollout_state == COMPLETED:
        deployments = [primary]
    return ServicePlan(
        start=start,
        stop=tuple(stop),
        deployments=tuple(deployments),
        task_definition=task_definition,
        events=tuple(events),
        steady=primary_done,
    )


def _trip(service: Service, now: float) -> tuple[list[Deployment], Deployment, list[str]]:
    """The circuit breaker trips: the primary is FAILED and, with rollback, the most recent
    COMPLETED deployment becomes the primary again, IN_PROGRESS (AWS: "when the rollback
    starts, the deployment changes from COMPLETED to IN_PROGRESS"); its tasks are the ones
    still running, so nothing new starts for them. Without a COMPLETED deployment the
    deployment is stalled: FAILED, launching nothing. Returns deployments, primary, events."""
    name = f"(service {service.name})"
    primary = service.primary
    failed = dataclasses.replace(
        primary,
        rollout_state=FAILED,
        rollout_state_reason="ECS deployment circuit breaker: tasks failed to start.",
        updated_at=now,
    )
    events = [
        f"{name} (deployment {primary.deployment_id}) deployment failed: tasks failed to start."
    ]
    previous = [
        d for d in service.deployments if d.status == ACTIVE and d.rollout_state == COMPLETED
    ]
    if not (service.deployment_configuration.circuit_breaker_rollback and previous):
        return [failed if d is primary else d for d in service.deployments], failed, events
    target = max(previous, key=lambda d: d.created_at)
    rollback = dataclasses.replace(
        target,
        status=PRIMARY,
        rollout_state=IN_PROGRESS,
        rollout_state_reason=(
            f"ECS deployment circuit breaker: rolling back to deploymentId {target.deployment_id}."
        ),
        updated_at=now,
    )
    events.append(f"{name} rolling back to deployment {target.deployment_id}.")
    failed = dataclasses.replace(failed, status=ACTIVE)
    replaced = {primary.deployment_id: failed, target.deployment_id: rollback}
    return [replaced.get(d.deployment_id, d) for d in service.deployments], rollback, events


def new_deployment(deployment_id: str, task_definition: str, now: float) -> Deployment:
    return Deployment(
        deployment_id=deployment_id,
        task_definition=task_definition,
        status=PRIMARY,
        created_at=now,
        updated_at=now,
        rollout_state=IN_PROGRESS,
        rollout_state_reason="ECS deployment in progress.",
    )


def update_deployments(
    service: Service, task_definition: str, deployment_id: str, now: float
) -> tuple[Deployment, ...]:
    """UpdateService with a new task definition (or forceNewDeployment): the primary becomes
    ACTIVE and a new PRIMARY starts."""
    olds = tuple(dataclasses.replace(d, status=ACTIVE) for d in service.deployments)
    return (*olds, new_deployment(deployment_id, task_definition, now))
