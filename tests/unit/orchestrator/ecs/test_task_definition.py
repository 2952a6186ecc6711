"""Task definitions: AWS's JSON shape, a real account's describe output, what is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.ecs.controller import start_order
from orchestrator.ecs.state import EcsStore
from orchestrator.ecs.task_definition import ClientException, parse_task_definition

FIXTURE = Path(__file__).parent / "fixtures" / "describe-task-definition.json"


def fixture_without_secrets() -> dict[str, object]:
    """The real account's output less ``secrets``, which Barista refuses (test_members.py)."""
    document = json.loads(FIXTURE.read_text())
    del document["taskDefinition"]["containerDefinitions"][0]["secrets"]
    return document


def minimal(**extra: object) -> dict[str, object]:
    return {
        "family": "web",
        "containerDefinitions": [
            {"name": "web", "image": "barista/service:latest", "memory": 64, **extra}
        ],
    }


def test_a_real_describe_task_definition_output_parses_as_it_is():
    definition = parse_task_definition(fixture_without_secrets())
    assert definition.family == "order-api"
    assert (definition.cpu, definition.memory) == (512, 1024)
    assert definition.network_mode == "awsvpc"
    web = definition.container("order-api")
    assert web.health_check is not None
    assert (web.health_check.interval, web.health_check.start_period) == (30, 10)
    assert web.port_mappings[0].container_port == 8000
    assert definition.container("log-router").essential is False
    # Read-only members are set aside, not reported; what Barista ignores is named.
    assert "taskDefinitionArn" not in definition.document
    assert set(definition.unsupported) == {
        "taskRoleArn",
        "executionRoleArn",
        "runtimePlatform",
        "containerDefinitions[0].portMappings[0].name",
        "containerDefinitions[0].portMappings[0].appProtocol",
        "containerDefinitions[0].logConfiguration",
        "containerDefinitions[1].firelensConfiguration",
    }


def test_the_fixture_registers_as_revision_one_and_keeps_every_member(tmp_path: Path):
    with EcsStore(tmp_path / "b.db") as store:
        first = store.register_task_definition(
            parse_task_definition(fixture_without_secrets(), registered_at=5.0)
        )
        second = store.register_task_definition(
            parse_task_definition(minimal() | {"family": "order-api"})
        )
        assert (first.revision, second.revision) == (1, 2)
        again = store.task_definition("order-api", 1)
        assert again.document["taskRoleArn"].endswith("order-api-task")
        logs = again.document["containerDefinitions"][0]["logConfiguration"]
        assert logs["logDriver"] == "awslogs"
        assert store.task_definition("order-api").revision == 2


def test_health_check_takes_aws_defaults():
    definition = parse_task_definition(minimal(healthCheck={"command": ["CMD", "true"]}))
    check = definition.container("web").health_check
    assert check is not None
    assert (check.interval, check.timeout, check.retries, check.start_period) == (30, 5, 3, 0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"containerDefinitions": []}, "Family"),
        ({"family": "web", "containerDefinitions": []}, "Container list cannot be empty"),
        (minimal(healthCheck={"command": ["CMD", "true"], "interval": 4}), "between 5 and 300"),
        (
            {"family": "web", "containerDefinitions": [{"name": "web", "image": "x"}]},
            "At least one of 'memory' or 'memoryReservation'",
        ),
        (
            {
                "family": "web",
                "requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc",
                "containerDefinitions": [{"name": "web", "image": "x", "memory": 64}],
            },
            "Fargate requires that 'cpu' and 'memory'",
        ),
        (minimal(essential=False), "at least one essential container"),
    ],
)
def test_invalid_definitions_are_refused_in_ecs_words(document: dict[str, object], message: str):
    with pytest.raises(ClientException, match=message):
        parse_task_definition(document)


def test_task_level_cpu_and_memory_accept_vcpu_and_gb():
    definition = parse_task_definition(
        {
            "family": "web",
            "cpu": "0.5 vCPU",
            "memory": "1 GB",
            "containerDefinitions": [{"name": "web", "image": "x"}],
        }
    )
    assert (definition.required_cpu, definition.required_memory) == (512, 1024)


def test_containers_start_with_their_depends_on_targets_first():
    definition = parse_task_definition(
        {
            "family": "web",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "x",
                    "memory": 64,
                    "dependsOn": [{"containerName": "proxy", "condition": "START"}],
                },
                {"name": "proxy", "image": "x", "memory": 64},
            ],
        }
    )
    assert [c.name for c in start_order(definition)] == ["proxy", "app"]
