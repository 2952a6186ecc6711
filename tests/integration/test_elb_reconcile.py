"""The controller closes the gap after a restart of either side, and reloads hitlessly."""

from __future__ import annotations

import http.client
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from orchestrator.api import ApiContext, create_app
from orchestrator.elb.controller import DifferenceKind, ElbController
from orchestrator.elb.haproxy_runtime import HaproxyRuntimeApi
from orchestrator.elb.model import (
    Action,
    ConditionField,
    Protocol,
    RuleCondition,
    Target,
)
from orchestrator.time_scale import TimeScale
from tests.support.aws_auth import CREDENTIALS, SIGV4
from tests.support.containers import LOOPBACK
from tests.support.load_balancing import (
    FAST_CHECK,
    MASTER_CLI_PORT,
    RUNTIME_API_PORT,
    ElbStack,
    get,
)
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

HTTP_PORT = 9080
KEEP_ALIVE_CLIENTS = 6


def web(stack: ElbStack, targets: int) -> tuple[str, str]:
    """An ALB forwarding to a target group of ``targets`` containers: (listener, group) ARNs."""
    load_balancer = stack.elbv2.create_load_balancer("web")
    target_group = stack.elbv2.create_target_group(
        "orders", Protocol.HTTP, 8000, health_check=FAST_CHECK
    )
    instances = stack.launch_targets("orders", targets)
    stack.elbv2.register_targets(
        target_group.target_group_arn, [Target(i.instance_id) for i in instances]
    )
    listener = stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [Action.forward(target_group.target_group_arn)],
    )
    assert stack.converge_until_healthy(target_group.target_group_arn, targets)
    return listener.listener_arn, target_group.target_group_arn


def test_a_restarted_orchestrator_finds_nothing_to_do_then_applies_what_it_missed(
    stack: ElbStack,
):
    _, target_group_arn = web(stack, targets=2)
    reborn = ElbController(
        stack.store_path,
        stack.runtime,
        stack.haproxy.api,
        stack.haproxy.config_dir,
        time_scale=TimeScale(10),
    )
    assert reborn.differences() == []
    assert reborn.reconcile_once() == []

    # Registered while no controller ran: visible as a difference until a pass applies it.
    extra = stack.launch_targets("orders", 1)[0]
    stack.elbv2.register_targets(target_group_arn, [Target(extra.instance_id)])
    kinds = {d.kind for d in reborn.differences()}
    assert DifferenceKind.ADD_SERVER in kinds
    assert DifferenceKind.RELOAD not in kinds, "a new target needs no reload"
    reborn.reconcile_once()
    assert reborn.differences() == []
    assert stack.converge_until_healthy(target_group_arn, 3)


def test_rule_changes_reload_haproxy_without_failing_a_request(stack: ElbStack):
    listener_arn, target_group_arn = web(stack, targets=2)
    stopping = threading.Event()
    statuses: list[int] = []
    kept_alive: list[int] = []

    def steady_traffic() -> None:
        while not stopping.is_set():
            statuses.append(get(stack.haproxy.url(HTTP_PORT, "/menu"))[0])

    def keep_alive_traffic() -> None:
        # One persistent connection; http.client reconnects after a Connection: close, so a
        # failure here is a request the reload broke, not a connection it retired.
        connection = http.client.HTTPConnection(LOOPBACK, stack.haproxy.host_port(HTTP_PORT))
        try:
            while not stopping.is_set():
                try:
                    connection.request("GET", "/menu")
                    response = connection.getresponse()
                    response.read()
                    kept_alive.append(response.status)
                except (http.client.HTTPException, OSError):
                    kept_alive.append(0)
                    connection.close()
                    connection = http.client.HTTPConnection(
                        LOOPBACK, stack.haproxy.host_port(HTTP_PORT)
                    )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1 + KEEP_ALIVE_CLIENTS) as pool:
        traffic = pool.submit(steady_traffic)
        persistent = [pool.submit(keep_alive_traffic) for _ in range(KEEP_ALIVE_CLIENTS)]
        for priority in range(1, 11):
            stack.elbv2.create_rule(
                listener_arn,
                priority,
                [RuleCondition(ConditionField.PATH_PATTERN, (f"/v{priority}/*",))],
                [Action.forward(target_group_arn)],
            )
            applied = {d.kind for d in stack.controller.reconcile_once()}
            assert DifferenceKind.RELOAD in applied
            served = len(statuses)
            assert wait_for(lambda: len(statuses) > served + 20, timeout=10)  # noqa: B023
        stopping.set()
        traffic.result()
        for client in persistent:
            client.result()

    assert set(statuses) == {200}, f"{statuses.count(200)} of {len(statuses)} answered 200"
    assert set(kept_alive) == {200}, f"{kept_alive.count(200)} of {len(kept_alive)} answered 200"
    # The reloaded workers kept the targets' health: still both healthy, no re-check needed.
    assert list(stack.health(target_group_arn).values()) == ["healthy", "healthy"]


def test_a_restarted_haproxy_is_brought_back_to_the_desired_state(stack: ElbStack):
    _, target_group_arn = web(stack, targets=2)
    stack.haproxy.container.get_wrapped_container().restart(timeout=5)
    # Published host ports may change across a restart; find them again.
    container = stack.haproxy.container
    stack.controller.haproxy = HaproxyRuntimeApi(
        LOOPBACK,
        container.host_port(RUNTIME_API_PORT),
        master_port=container.host_port(MASTER_CLI_PORT),
    )

    def answering() -> bool:
        # Docker's port proxy accepts a connection before HAProxy listens and then closes it
        # unanswered: only HAProxy's own answer says it is up.
        try:
            return "Uptime_sec" in stack.controller.haproxy.execute("show info")
        except OSError:
            return False

    assert wait_for(answering, timeout=30)
    assert stack.controller.differences() != [], "a fresh HAProxy lost the runtime changes"
    assert stack.converge_until_healthy(target_group_arn, 2)
    assert stack.controller.differences() == []
    status, _ = get(stack.haproxy.url(HTTP_PORT, "/menu"))
    assert status == 200


def test_describe_target_health_over_the_api_reads_haproxy(stack: ElbStack):
    _, target_group_arn = web(stack, targets=2)
    api = stack.controller.haproxy
    environ = {
        "BARISTA_HAPROXY_RUNTIME_API": f"{api.host}:{api.port}",
        "BARISTA_HAPROXY_MASTER_CLI_PORT": str(api.master_port),
        "BARISTA_ELB_CONFIG_DIR": str(stack.haproxy.config_dir),
        "BARISTA_TIME_SCALE": "10",
    }
    context = ApiContext(
        store_path=stack.store_path, runtime=stack.runtime, environ=environ, credentials=CREDENTIALS
    )
    with TestClient(create_app(context)) as client:
        client.auth = SIGV4
        response = client.post(
            "/api/elbv2/DescribeTargetHealth", json={"TargetGroupArn": target_group_arn}
        )
        assert response.status_code == 200, response.text
        descriptions = response.json()["TargetHealthDescriptions"]
        assert [d["TargetHealth"] for d in descriptions] == [{"State": "healthy"}] * 2
        assert {d["HealthCheckPort"] for d in descriptions} == {"8000"}

        unknown = client.post(
            "/api/elbv2/DescribeTargetHealth",
            json={"TargetGroupArn": target_group_arn, "Targets": [{"Id": "i-unknown"}]},
        ).json()["TargetHealthDescriptions"]
        assert unknown[0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
