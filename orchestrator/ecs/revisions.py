"""Deploying a new revision of a service's task definition, as a person would with the console's
"Create new revision" and "Update service": the dashboard's deploy buttons.

A revision is the service's current definition (as describe returns it) with one change:

* ``environment``: one environment variable of the load-balanced (else the first) container
  set to a new value, the everyday deployment of the same image with other settings;
* ``failing-health-check``: that container's health check replaced by a command that always
  fails, the classic bad deployment. Its tasks start and serve, but never turn healthy: each
  is stopped once its health check has failed ``retries`` times, and the deployment circuit
  breaker (if the service has it) fails the deployment and rolls back.

``deploy_revision`` registers the revision and points the service at it (UpdateService), so
the controller's next passes run the rolling deployment. The pure ``revised`` is separate so
the change can be tested without a store.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestrator.ecs import operations
from orchestrator.ecs.errors import InvalidParameterException
from orchestrator.ecs.model import Service
from orchestrator.ecs.state import EcsStore
from orchestrator.ecs.task_definition import TaskDefinition

FAILING_CHECK = ["CMD-SHELL", "echo 'this revision fails its health check on purpose' >&2; exit 1"]
# AWS's defaults, for a container that had no health check to break.
DEFAULT_CHECK = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


class Change(StrEnum):
    ENVIRONMENT = "environment"
    FAILING_HEALTH_CHECK = "failing-health-check"


@dataclass(frozen=True)
class Deployed:
    """What ``deploy_revision`` did: the revision registered and the service now on it."""

    task_definition: TaskDefinition
    service: Service
    container: str


def target_container(definition: TaskDefinition, service: Service) -> str:
    """The container behind the service's load balancer, else the definition's first."""
    for balancer in service.load_balancers:
        return balancer.container_name
    return definition.container_definitions[0].name


def revised(
    document: Mapping[str, Any],
    container: str,
    change: Change,
    *,
    variable: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A copy of a task definition document with ``change`` made to ``container``.
    ``variable`` is the (name, value) an ``environment`` change sets."""
    revision = copy.deepcopy(dict(document))
    definitions = revision.get("containerDefinitions", [])
    found = next((c for c in definitions if c.get("name") == container), None)
    if found is None:
        raise InvalidParameterException(f"The container {container} is not in the definition.")
    if change is Change.ENVIRONMENT:
        if variable is None:
            raise ValueError("an environment change needs the variable's name and value")
        name, value = variable
        kept = [e for e in found.get("environment", []) if e.get("name") != name]
        found["environment"] = [*kept, {"name": name, "value": value}]
    else:
        check = found.get("healthCheck") or DEFAULT_CHECK
        found["healthCheck"] = {**check, "command": list(FAILING_CHECK)}
    return revision


def deploy_revision(
    store: EcsStore,
    cluster: str,
    service_name: str,
    change: Change,
    *,
    now: float,
    variable: tuple[str, str] | None = None,
) -> Deployed:
    """Register the service's current definition with ``change`` as a new revision of its
    family and update the service to it: a rolling deployment starts on the next pass."""
    service = operations.find_service(store, cluster, service_name)
    current = operations.resolve_task_definition(store, service.task_definition)
    container = target_container(current, service)
    document = revised(current.document, container, change, variable=variable)
    registered = operations.register_task_definition(store, document, now)
    updated = operations.update_service(
        store, cluster, service_name, task_definition=registered.family_revision, now=now
    )
    return Deployed(registered, updated, container)
