"""Deploying a new revision of a service's definition: the change made, the revision
registered, the service's new deployment on it, and the old revision left as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.errors import InvalidParameterException, ServiceNotFoundException
from orchestrator.ecs.model import DeploymentConfiguration, LoadBalancer
from orchestrator.ecs.revisions import FAILING_CHECK, Change, deploy_revision, revised
from orchestrator.ecs.state import EcsStore

CHECK = {"command": ["CMD", "true"], "interval": 120, "timeout": 5, "retries": 3, "startPeriod": 10}


def definition() -> dict[str, Any]:
    return {
        "family": "order-api",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [
            {
                "name": "sidecar",
                "image": "barista/python:latest",
                "essential": False,
                "environment": [{"name": "MODE", "value": "quiet"}],
            },
            {
                "name": "order-api",
                "image": "barista/service:latest",
                "command": ["serve", "order-api"],
                "environment": [{"name": "BARISTA_BROKER_URL", "value": "amqp://broker"}],
                "portMappings": [{"containerPort": 8080}],
                "healthCheck": dict(CHECK),
            },
        ],
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EcsStore]:
    with EcsStore(tmp_path / "barista.db") as store:
        operations.create_cluster(store, "coffee-shop")
        operations.register_task_definition(store, definition(), 0.0)
        operations.create_service(
            store,
            "coffee-shop",
            "order-api",
            "order-api",
            2,
            load_balancers=[LoadBalancer("arn:tg", "order-api", 8080)],
            deployment_configuration=DeploymentConfiguration(
                circuit_breaker_enable=True, circuit_breaker_rollback=True
            ),
            now=0.0,
        )
        yield store


def test_an_environment_change_sets_one_variable_of_one_container():
    document = definition()
    changed = revised(document, "order-api", Change.ENVIRONMENT, variable=("NOTE", "two"))
    sidecar, app = changed["containerDefinitions"]
    assert app["environment"] == [
        {"name": "BARISTA_BROKER_URL", "value": "amqp://broker"},
        {"name": "NOTE", "value": "two"},
    ]
    assert sidecar == document["containerDefinitions"][0]
    again = revised(changed, "order-api", Change.ENVIRONMENT, variable=("NOTE", "three"))
    assert again["containerDefinitions"][1]["environment"][-1] == {"name": "NOTE", "value": "three"}
    assert len(again["containerDefinitions"][1]["environment"]) == 2, "replaced, not repeated"
    assert document == definition(), "the original is not changed"


def test_a_failing_health_check_keeps_the_checks_timing_and_always_fails():
    changed = revised(definition(), "order-api", Change.FAILING_HEALTH_CHECK)
    check = changed["containerDefinitions"][1]["healthCheck"]
    assert check == {**CHECK, "command": FAILING_CHECK}
    assert check["command"][0] == "CMD-SHELL"
    assert check["command"][1].endswith("exit 1")
    bare = revised(definition(), "sidecar", Change.FAILING_HEALTH_CHECK)
    assert bare["containerDefinitions"][0]["healthCheck"]["interval"] == 30, "AWS's default"


def test_an_unknown_container_is_refused():
    with pytest.raises(InvalidParameterException, match="nope"):
        revised(definition(), "nope", Change.FAILING_HEALTH_CHECK)


def test_deploying_registers_a_revision_and_starts_a_deployment_of_it(store: EcsStore):
    deployed = deploy_revision(
        store, "coffee-shop", "order-api", Change.ENVIRONMENT, now=60.0, variable=("NOTE", "2")
    )
    assert deployed.container == "order-api", "the load-balanced container, not the first"
    assert deployed.task_definition.family_revision == "order-api:2"
    app = deployed.task_definition.container("order-api")
    assert ("NOTE", "2") in app.environment
    service = store.service("coffee-shop", "order-api")
    assert service is not None
    assert service.task_definition == "order-api:2"
    assert [(d.status, d.task_definition) for d in service.deployments] == [
        ("ACTIVE", "order-api:1"),
        ("PRIMARY", "order-api:2"),
    ]
    assert service.primary.deployment_id == deployed.service.primary.deployment_id
    first = store.task_definition("order-api", 1)
    assert ("NOTE", "2") not in first.container("order-api").environment

    bad = deploy_revision(store, "coffee-shop", "order-api", Change.FAILING_HEALTH_CHECK, now=90.0)
    assert bad.task_definition.family_revision == "order-api:3"
    check = bad.task_definition.container("order-api").health_check
    assert check is not None
    assert list(check.command) == FAILING_CHECK
    assert ("NOTE", "2") in bad.task_definition.container("order-api").environment, (
        "a revision of the service's current definition"
    )


def test_deploying_to_an_unknown_service_is_refused(store: EcsStore):
    with pytest.raises(ServiceNotFoundException):
        deploy_revision(store, "coffee-shop", "nope", Change.FAILING_HEALTH_CHECK, now=1.0)
