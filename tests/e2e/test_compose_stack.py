"""The demo stack's infrastructure (docker-compose.yml, v2 or v1): every broker and HAProxy,
reached by the protocol tools a user would point at them: kcat, redis-cli and the AMQP
command-line tools. (The whole demo, orchestrator and workers included, as `make up` starts
it: test_demo_stack.py.)

The stack runs under its own compose project name and free ports, so it never touches a
user's running `make up` stack."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.brokers import http_get
from tests.support.containers import REPO_DIR, SESSION_ID, Credentials, free_loopback_port
from tests.support.tools import require_tool, run_tool

pytestmark = [pytest.mark.docker, pytest.mark.compose]

COMPOSE = str(REPO_DIR / "images" / "compose.sh")
# The infrastructure only: the demo's orchestrator and load generator are test_demo_stack.py's.
SERVICES = ("kafka", "rabbitmq", "redis", "haproxy")
PORT_VARIABLES = (
    "KAFKA_PORT",
    "RABBITMQ_PORT",
    "RABBITMQ_MANAGEMENT_PORT",
    "REDIS_PORT",
    "ALB_PORT",
    "HAPROXY_STATS_PORT",
)


@dataclass(frozen=True)
class Stack:
    project: str
    env: dict[str, str]
    credentials: dict[str, Credentials]

    def port(self, variable: str) -> int:
        return int(self.env[variable])


def _compose(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [COMPOSE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, (
        f"compose {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    )
    return result.stdout


def _project_resources(project: str) -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={project}"
    containers = run_tool(["docker", "ps", "-aq", "--filter", label]).split()
    volumes = run_tool(["docker", "volume", "ls", "-q", "--filter", label]).split()
    return {"containers": containers, "volumes": volumes}


# The flavours users have: Compose v2 and later (`docker compose`, images/ensure-compose.sh
# builds it where no package has it) and Debian's v1 (`docker-compose`).
FLAVOURS = {"v2": ["docker", "compose", "version"], "v1": ["docker-compose", "version"]}


def _flavour_available(flavour: str) -> bool:
    try:
        found = subprocess.run(FLAVOURS[flavour], capture_output=True, timeout=30, check=False)
    except FileNotFoundError:
        return False
    return found.returncode == 0


@pytest.fixture(scope="module", params=list(FLAVOURS))
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    flavour: str = request.param
    if not _flavour_available(flavour):
        message = f"Compose {flavour} is not installed (make engine installs both)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    project = f"barista-e2e-{flavour}-{SESSION_ID}"
    credentials = {
        name: Credentials.generate(name) for name in ("KAFKA", "RABBITMQ", "REDIS", "HAPROXY_STATS")
    }
    # Every broker's profile (images/compose.sh), so ps and down see them all.
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        "COMPOSE_PROFILES": "all-brokers",
        "BARISTA_COMPOSE": flavour,
    }
    for name, creds in credentials.items():
        env[f"{name}_USER"] = creds.user
        env[f"{name}_PASSWORD"] = creds.password
    ports: set[int] = set()
    while len(ports) < len(PORT_VARIABLES):
        ports.add(free_loopback_port())
    env |= {
        variable: str(port) for variable, port in zip(PORT_VARIABLES, sorted(ports), strict=True)
    }
    stack = Stack(project, env, credentials)
    try:
        _compose(env, "up", "-d", *SERVICES)
        result = subprocess.run(
            [str(REPO_DIR / "images" / "wait-healthy.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        yield stack
    finally:
        _compose(env, "down", "--volumes", "--remove-orphans")


def test_the_stack_runs_on_the_compose_flavour_asked_for(stack: Stack):
    version = _compose(stack.env, "version")
    expected = "Docker Compose version v" if stack.env["BARISTA_COMPOSE"] == "v2" else "1."
    assert expected in version, version


def test_every_service_reports_healthy(stack: Stack):
    ids = _compose(stack.env, "ps", "-q").split()
    health = {}
    for container_id in ids:
        state = json.loads(
            run_tool(["docker", "inspect", "--format", "{{json .State}}", container_id])
        )
        name = run_tool(
            [
                "docker",
                "inspect",
                "--format",
                '{{index .Config.Labels "com.docker.compose.service"}}',
                container_id,
            ]
        ).strip()
        health[name] = state["Health"]["Status"]
    assert health == dict.fromkeys(SERVICES, "healthy")


def test_kcat_produces_and_consumes_on_the_published_port(stack: Stack, unique_name: str):
    kcat = require_tool("kcat")
    creds = stack.credentials["KAFKA"]
    client = [
        kcat, "-b", f"127.0.0.1:{stack.port('KAFKA_PORT')}",
        "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
        "-X", f"sasl.username={creds.user}", "-X", f"sasl.password={creds.password}",
    ]  # fmt: skip
    run_tool([*client, "-P", "-t", unique_name, "-K", ":"], stdin="order-7:two lattes\n")
    consumed = run_tool(
        [*client, "-C", "-t", unique_name, "-o", "beginning", "-c", "1", "-e", "-f", "%k=%s"]
    )
    assert consumed.strip() == "order-7=two lattes"


def test_redis_cli_logs_in_as_the_configured_user(stack: Stack, unique_name: str):
    redis_cli = require_tool("redis-cli")
    creds = stack.credentials["REDIS"]
    base = [redis_cli, "-p", str(stack.port("REDIS_PORT")), "--no-auth-warning"]
    login = ["--user", creds.user, "--pass", creds.password]
    assert run_tool([*base, *login, "SET", unique_name, "espresso"]).strip() == "OK"
    assert run_tool([*base, *login, "GET", unique_name]).strip() == "espresso"
    assert "NOAUTH" in run_tool([*base, "GET", unique_name])


def test_amqp_tools_publish_and_get_a_message(stack: Stack, unique_name: str):
    tools = {
        name: require_tool(name) for name in ("amqp-declare-queue", "amqp-publish", "amqp-get")
    }
    creds = stack.credentials["RABBITMQ"]
    url = f"amqp://{creds.user}:{creds.password}@127.0.0.1:{stack.port('RABBITMQ_PORT')}"
    run_tool([tools["amqp-declare-queue"], "--url", url, "-q", unique_name])
    run_tool([tools["amqp-publish"], "--url", url, "-r", unique_name, "-b", "one mocha"])
    assert run_tool([tools["amqp-get"], "--url", url, "-q", unique_name]) == "one mocha"


def test_haproxy_stats_answer_on_the_published_port(stack: Stack):
    # The ALB's port leads to the listener the demo's stack creates (test_demo_stack.py).
    stats = f"http://127.0.0.1:{stack.port('HAPROXY_STATS_PORT')}/stats"
    assert http_get(stats, stack.credentials["HAPROXY_STATS"])[0] == 200


def test_down_removes_containers_and_volumes(stack: Stack):
    assert _project_resources(stack.project)["volumes"], "the stack should own volumes before down"
    _compose(stack.env, "down", "--volumes", "--remove-orphans")
    assert _project_resources(stack.project) == {"containers": [], "volumes": []}
