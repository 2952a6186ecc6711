"""The dashboard's controls: each acts the way a user would, and a refusal says why (4xx)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.ecs import operations
from orchestrator.ecs.model import DeploymentConfiguration
from orchestrator.ecs.state import EcsStore
from orchestrator.instances import Health
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.model import Pool
from orchestrator.spot.store import SpotStore
from tests.unit.orchestrator.dashboard.conftest import FakeLoadgen, Services, log_in


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The conftest's client, logged in: every control needs a session."""
    log_in(client)
    return client


def converge(store_path: Path, runtime: FakeRuntime) -> None:
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()


def press(client: TestClient, name: str, expect: int = 200, **body: object) -> dict[str, Any]:
    response = client.post(f"/dashboard/controls/{name}", json=body)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_set_desired_capacity_goes_through_the_api(
    client: TestClient, group: str, store_path: Path
):
    press(client, "desired-capacity", group=group, desired_capacity=3)
    with Store(store_path) as store:
        assert store.groups()[group].desired_capacity == 3
    assert client.get("/dashboard/state").json()["groups"][0]["desired_capacity"] == 3


def test_desired_capacity_outside_the_group_is_refused_with_aws_reason(
    client: TestClient, group: str
):
    answer = press(client, "desired-capacity", 400, group=group, desired_capacity=9)
    assert answer["error"].startswith("SetDesiredCapacity: New SetDesiredCapacity value 9 is above")
    unknown = press(client, "desired-capacity", 400, group="nope", desired_capacity=1)
    assert "AutoScalingGroup name not found" in unknown["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"group": "baristas"}, "desired_capacity: Field required"),
        ({"group": "baristas", "desired_capacity": -1}, "desired_capacity: Input should be"),
        ({"group": "baristas", "desired_capacity": 1, "extra": 1}, "extra: Extra inputs"),
    ],
)
def test_invalid_bodies_are_refused_naming_the_field(
    client: TestClient, group: str, body: dict[str, Any], reason: str
):
    answer = press(client, "desired-capacity", 400, **body)
    assert reason in answer["error"]


def test_bodies_that_are_not_json_objects_and_unknown_controls(client: TestClient):
    declared = {"Content-Type": "application/json"}
    not_json = client.post("/dashboard/controls/poison", content=b"{nope", headers=declared)
    assert not_json.status_code == 400
    assert "not JSON" in not_json.json()["error"]
    a_list = client.post("/dashboard/controls/poison", content=b"[1]", headers=declared)
    assert a_list.json() == {"error": "the body must be a JSON object"}
    unknown = press(client, "reboot-everything", 404)
    assert "known: deploy, desired-capacity, kill" in unknown["error"]


def test_protect_an_instance(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    instance = runtime.instances()[0].instance_id
    press(client, "protect", group=group, instance_id=instance)
    with Store(store_path) as store:
        assert store.groups()[group].protected_instance_ids == {instance}
    refused = press(client, "protect", 400, group=group, instance_id="i-missing")
    assert "SetInstanceProtection" in refused["error"]


def test_kill_and_pause_go_through_the_runtime(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    first, second = sorted(i.instance_id for i in runtime.instances())
    press(client, "kill", instance_id=first)
    press(client, "pause", instance_id=second)
    health = {i.instance_id: i.health for i in runtime.instances()}
    assert health == {first: Health.STOPPED, second: Health.UNHEALTHY}
    assert "not running" in press(client, "kill", 409, instance_id=first)["error"]
    press(client, "pause", instance_id=second, paused=False)
    assert {i.instance_id: i.health for i in runtime.instances()}[second] is Health.HEALTHY
    assert press(client, "kill", 404, instance_id="i-nobody")["error"] == (
        "no instance i-nobody in any group"
    )


def test_reclaim_spot_capacity_takes_the_pool_for_the_reclaim_duration(
    client: TestClient, store_path: Path, runtime: FakeRuntime
):
    answer = press(
        client, "reclaim-spot-capacity", instance_type="t3.micro", availability_zone="az-a"
    )
    assert answer["reclaimed_until"] == runtime.now() + 600  # BARISTA_SPOT_RECLAIM_DURATION
    with SpotStore(store_path) as store:
        assert store.reclaimed(runtime.now()) == {Pool("t3.micro", "az-a")}
        assert store.reclaimed(runtime.now() + 600) == set()
    refused = press(
        client, "reclaim-spot-capacity", 400, instance_type="m5.large", availability_zone="az-a"
    )
    assert "InstanceType" in refused["error"]
    assert (
        "availability_zone"
        in press(client, "reclaim-spot-capacity", 400, instance_type="t3.micro")["error"]
    )


def test_traffic_changes_the_load_generator_pattern(
    client: TestClient, fakes: tuple[FakeLoadgen, object]
):
    loadgen = fakes[0]
    answer = press(client, "traffic", pattern="spike", rate=2.5)
    assert answer["traffic"]["pattern"] == "spike"
    assert loadgen.pattern["rate"] == 2.5
    assert client.get("/dashboard/state").json()["traffic"]["pattern"] == "spike"
    assert "name a pattern" in press(client, "traffic", 400)["error"]
    assert "rate: Input should be" in press(client, "traffic", 400, rate=-1)["error"]
    refused = press(client, "traffic", 422, pattern="sideways")
    assert refused["error"].startswith("the load generator refused")


def test_poison_sends_a_malformed_order_onto_the_orders_queue(
    client: TestClient, services: Services
):
    answer = press(client, "poison")
    (message,) = services.take()
    assert message.id == answer["message_id"]
    sent = json.loads(message.body)
    assert sent["order_id"] == answer["order_id"]
    assert answer["order_id"].startswith("poison-")
    assert "items" not in sent, "not an order: every barista rejects it"
    assert (answer["queue"], answer["dead_letter_queue"]) == ("orders", "orders-dlq")


def test_restart_broker_finds_the_compose_service_by_the_broker_host(
    client: TestClient, runtime: FakeRuntime
):
    assert "no container has the label" in press(client, "restart-broker", 404)["error"]
    runtime.services["rabbitmq"] = "barista-rabbitmq-1"
    answer = press(client, "restart-broker")
    assert answer == {"service": "rabbitmq", "container": "barista-rabbitmq-1", "restarted": True}
    assert runtime.restarted == ["rabbitmq"]


def test_controls_without_their_source_are_refused_with_the_setting_to_set(
    client: TestClient, fakes: tuple[object, object], dashboard: object
):
    dashboard.sources.loadgen = None  # type: ignore[attr-defined]
    dashboard.sources.broker = None  # type: ignore[attr-defined]
    assert "BARISTA_LOADGEN_URL" in press(client, "traffic", 409, rate=1)["error"]
    assert "BARISTA_BROKER_URL" in press(client, "poison", 409)["error"]


def ecs_service(store_path: Path) -> None:
    """The demo's counters in miniature: a Fargate service with the circuit breaker."""
    with EcsStore(store_path) as store:
        operations.create_cluster(store, "coffee-shop")
        operations.register_task_definition(
            store,
            {
                "family": "order-api",
                "requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc",
                "cpu": "256",
                "memory": "512",
                "containerDefinitions": [
                    {
                        "name": "order-api",
                        "image": "barista/service:latest",
                        "healthCheck": {"command": ["CMD", "true"], "interval": 120},
                    }
                ],
            },
            0.0,
        )
        operations.create_service(
            store,
            "coffee-shop",
            "order-api",
            "order-api",
            2,
            deployment_configuration=DeploymentConfiguration(
                circuit_breaker_enable=True, circuit_breaker_rollback=True
            ),
            now=0.0,
        )


def test_deploy_registers_a_revision_and_the_page_shows_the_new_deployment(
    client: TestClient, store_path: Path
):
    ecs_service(store_path)
    (before,) = client.get("/dashboard/state").json()["services"]
    assert [d["rollout_state"] for d in before["deployments"]] == ["IN_PROGRESS"]
    assert before["circuit_breaker"] == {"enable": True, "rollback": True, "threshold": 3}
    answer = press(
        client, "deploy", cluster="coffee-shop", service="order-api", change="environment"
    )
    assert answer["task_definition"] == "order-api:2"
    assert answer["container"] == "order-api"
    (after,) = client.get("/dashboard/state").json()["services"]
    assert after["task_definition"] == "order-api:2"
    assert [(d["status"], d["task_definition"]) for d in after["deployments"]] == [
        ("PRIMARY", "order-api:2"),
        ("ACTIVE", "order-api:1"),
    ], "the newest first, as DescribeServices lists them"
    assert after["deployments"][0]["id"] == answer["deployment"]
    with EcsStore(store_path) as store:
        environment = dict(store.task_definition("order-api", 2).container("order-api").environment)
    assert "BARISTA_DEPLOYED_AT" in environment

    bad = press(
        client, "deploy", cluster="coffee-shop", service="order-api", change="failing-health-check"
    )
    assert bad["task_definition"] == "order-api:3"
    with EcsStore(store_path) as store:
        check = store.task_definition("order-api", 3).container("order-api").health_check
    assert check is not None
    assert check.command[-1].endswith("exit 1")


def test_deploy_refusals_name_the_field_or_the_missing_service(
    client: TestClient, store_path: Path
):
    ecs_service(store_path)
    unknown = press(client, "deploy", 400, cluster="coffee-shop", service="order-api", change="x")
    assert unknown["error"].startswith("invalid request: change:")
    gone = press(client, "deploy", 404, cluster="coffee-shop", service="nope", change="environment")
    assert gone["error"] == "Service not found."
    no_cluster = press(client, "deploy", 404, cluster="nope", service="x", change="environment")
    assert no_cluster["error"] == "Cluster not found."


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "", "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Content-Type": "text/plain"}, 415),
    ],
)
def test_deploy_is_refused_from_another_origin_or_as_a_form(
    client: TestClient, store_path: Path, headers: dict[str, str], status: int
):
    ecs_service(store_path)
    body = '{"cluster": "coffee-shop", "service": "order-api", "change": "environment"}'
    response = client.post(
        "/dashboard/controls/deploy",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status_code == status, response.text
    with EcsStore(store_path) as store:
        assert [d.revision for d in store.task_definitions("order-api")] == [1]
    client.cookies.clear()
    anonymous = client.post(
        "/dashboard/controls/deploy", content=body, headers={"Content-Type": "application/json"}
    )
    assert anonymous.status_code == 401
