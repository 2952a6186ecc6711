"""The dashboard's ECS panel: each service's deployments, tasks and latest events.

Read from the ECS store, the same records DescribeServices answers from, so the page and
``barista ecs describe-services`` agree: per deployment its status (PRIMARY, ACTIVE),
revision, rollout state and reason, running and failed tasks (failed: stopped before ever
counting healthy, what the circuit breaker counts); per service its running, pending and
desired counts, the circuit breaker's setting and threshold, and its newest events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.ecs.deployment import failed_to_start
from orchestrator.ecs.model import Service, Task, TaskStatus, circuit_breaker_threshold
from orchestrator.ecs.state import EcsStore

EVENTS = 8  # the newest events each service shows


def _task_view(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "task_definition": task.task_definition,
        "last_status": task.last_status.value,
        "desired_status": task.desired_status.value,
        "health_status": task.health_status.value,
        "address": task.address,
    }


def service_view(store: EcsStore, service: Service) -> dict[str, Any]:
    tasks = store.tasks(cluster=service.cluster, service=service.name)
    live = [t for t in tasks if t.last_status is not TaskStatus.STOPPED]
    config = service.deployment_configuration
    deployments = [
        {
            "id": d.deployment_id,
            "status": d.status,
            "task_definition": d.task_definition,
            "rollout_state": d.rollout_state,
            "rollout_state_reason": d.rollout_state_reason,
            "running": sum(
                t.deployment_id == d.deployment_id and t.last_status is TaskStatus.RUNNING
                for t in live
            ),
            "failed": sum(t.deployment_id == d.deployment_id and failed_to_start(t) for t in tasks),
            "created_at": d.created_at,
        }
        for d in reversed(service.deployments)  # the newest first, as DescribeServices
    ]
    return {
        "cluster": service.cluster,
        "name": service.name,
        "status": service.status,
        "launch_type": service.launch_type.value,
        "task_definition": service.task_definition,
        "desired": service.desired_count,
        "running": sum(t.last_status is TaskStatus.RUNNING for t in live),
        "pending": sum(
            t.last_status in (TaskStatus.PROVISIONING, TaskStatus.PENDING) for t in live
        ),
        "circuit_breaker": {
            "enable": config.circuit_breaker_enable,
            "rollback": config.circuit_breaker_rollback,
            "threshold": circuit_breaker_threshold(service.desired_count),
        },
        "deployments": deployments,
        "tasks": [_task_view(t) for t in live],
        "events": [
            {"created_at": e.created_at, "message": e.message}
            for e in store.events(service.cluster, service.name, limit=EVENTS)
        ],
    }


def service_views(store_path: str | Path) -> list[dict[str, Any]]:
    """Every ACTIVE service of every cluster, by cluster and name."""
    with EcsStore(store_path) as store:
        services = [s for s in store.services() if s.status == "ACTIVE"]
        return [service_view(store, s) for s in sorted(services, key=lambda s: (s.cluster, s.name))]
