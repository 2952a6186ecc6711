"""The live demo as a user starts it: `make up`, a spike of customers, `make down`.

`make up` runs under its own compose project name, credentials and free ports (as
test_compose_stack.py does), so a user's own demo is never touched. Everything is observed the
way a user could: the orchestrator's API (DescribeAutoScalingGroups, DescribeScalingActivities),
the load generator's side door, the ALB's port, and the ledger in Redis. The demo's time scale
(x60) makes target tracking's minutes pass in seconds; every wait is on a condition, bounded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.client import Client
from services.ledger import Ledger, LedgerSummary, OrderState
from tests.support.aws_auth import ACCESS_KEY, KEY_ID, SECRET
from tests.support.aws_auth import ENVIRON as ACCESS_KEY_ENVIRON
from tests.support.aws_endpoint import Endpoint as AwsEndpoint
from tests.support.brokers import http_get
from tests.support.containers import REPO_DIR, SESSION_ID, Credentials, free_loopback_port
from tests.support.tools import run_tool

pytestmark = [pytest.mark.docker, pytest.mark.compose, pytest.mark.timeout(900)]

BACKEND = os.environ.get("BARISTA_E2E_BACKEND", "rabbitmq")
# With BACKEND=kafka: consumer-group (the default) or share-group, as KAFKA_QUEUE_MODE in .env.
KAFKA_QUEUE_MODE = os.environ.get("BARISTA_E2E_KAFKA_QUEUE_MODE", "consumer-group")
PORT_VARIABLES = (
    "KAFKA_PORT",
    "RABBITMQ_PORT",
    "RABBITMQ_MANAGEMENT_PORT",
    "REDIS_PORT",
    "ALB_PORT",
    "HAPROXY_STATS_PORT",
    "ORCHESTRATOR_PORT",
    "LOADGEN_PORT",
    "PICKUP_BOARD_PORT",
)
# A trickle one barista keeps up with, then a spike no single barista can: 8 orders/s for 40 s
# (about 320 orders, 0.5 s of brewing per unit, 1 to 3 drinks each).
BASELINE = {"pattern": "steady", "rate": 0.5}
SPIKE = {"pattern": "spike", "rate": 0.5, "peak_rate": 8, "spike_at": 0, "spike_duration": 40}
STOPPED = {"pattern": "steady", "rate": 0}


def post_json(
    url: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
) -> dict[str, Any]:
    """POST ``body`` as JSON; the JSON answer (an HTTP error status raises)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with (opener or urllib.request.build_opener()).open(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


@dataclass(frozen=True)
class Demo:
    project: str
    env: dict[str, str] = field(repr=False)  # credentials: kept out of failure messages
    redis: Credentials = field(repr=False)
    up_output: str = ""

    def port(self, variable: str) -> int:
        return int(self.env[variable])

    @property
    def api(self) -> Client:
        url = f"http://127.0.0.1:{self.port('ORCHESTRATOR_PORT')}"
        return Client(url, timeout=30, credentials=ACCESS_KEY)

    def group(self, name: str) -> dict[str, Any]:
        found = self.api.call(
            "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [name]}
        )
        groups: list[dict[str, Any]] = found["AutoScalingGroups"]
        assert len(groups) == 1, found
        return groups[0]

    def service(self, name: str = "order-api") -> dict[str, Any]:
        found = self.api.call(
            "ecs", "DescribeServices", {"cluster": "coffee-shop", "services": [name]}
        )
        services: list[dict[str, Any]] = found["services"]
        assert len(services) == 1, found
        return services[0]

    def activities(self, name: str) -> list[dict[str, Any]]:
        found = self.api.call(
            "autoscaling",
            "DescribeScalingActivities",
            {"AutoScalingGroupName": name, "MaxRecords": 100},
        )
        activities: list[dict[str, Any]] = found["Activities"]
        return activities

    def set_pattern(self, pattern: dict[str, Any]) -> dict[str, Any]:
        return post_json(f"http://127.0.0.1:{self.port('LOADGEN_PORT')}/pattern", pattern)

    def loadgen_accepted(self) -> int:
        """The orders the load generator saw accepted (202), from its Prometheus metrics."""
        _, body = http_get(f"http://127.0.0.1:{self.port('LOADGEN_PORT')}/metrics")
        found = re.search(
            r'^barista_loadgen_requests_total\{result="accepted"\} ([0-9.e+]+)$',
            body.decode(),
            re.M,
        )
        return int(float(found.group(1))) if found else 0

    def loadgen_results(self) -> dict[str, int]:
        """The load generator's answers so far by result (accepted, rejected, unavailable,
        error), from its Prometheus metrics."""
        _, body = http_get(f"http://127.0.0.1:{self.port('LOADGEN_PORT')}/metrics")
        found = re.findall(
            r'^barista_loadgen_requests_total\{result="([a-z]+)"\} ([0-9.e+]+)$',
            body.decode(),
            re.M,
        )
        return {result: int(float(value)) for result, value in found}

    def accepted_order_ids(self) -> list[str]:
        """The ids of the orders the load generator saw accepted (its ``GET /accepted``)."""
        _, body = http_get(f"http://127.0.0.1:{self.port('LOADGEN_PORT')}/accepted")
        order_ids: list[str] = json.loads(body)["order_ids"]
        return order_ids

    def ledger(self) -> Ledger:
        return Ledger.from_url(
            f"redis://{self.redis.user}:{self.redis.password}@127.0.0.1:{self.port('REDIS_PORT')}"
        )


def make(demo_env: dict[str, str], target: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=REPO_DIR,
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def leftovers(project: str) -> dict[str, list[str]]:
    """Everything of the project Docker still has: compose's containers, volumes and
    networks, and the orchestrator's workers (found by the label make down uses)."""
    compose = f"label=com.docker.compose.project={project}"
    workers = f"label=barista.compose-project={project}"
    return {
        "containers": run_tool(["docker", "ps", "-aq", "--filter", compose]).split(),
        "workers": run_tool(["docker", "ps", "-aq", "--filter", workers]).split(),
        "volumes": run_tool(["docker", "volume", "ls", "-q", "--filter", compose]).split(),
        "networks": run_tool(
            ["docker", "network", "ls", "-q", "--filter", f"name=^{project}_"]
        ).split(),
    }


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def running(group: dict[str, Any]) -> int:
    return sum(1 for i in group["Instances"] if i["LifecycleState"] in ("Pending", "InService"))


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    project = f"barista-demo-{SESSION_ID}"
    env: dict[str, str] = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        "BACKEND": BACKEND,
        "KAFKA_QUEUE_MODE": KAFKA_QUEUE_MODE,
        "TIME_SCALE": "60",
        "LOADGEN_PATTERN": str(BASELINE["pattern"]),
        "LOADGEN_RATE": str(BASELINE["rate"]),
    }
    env.pop("COMPOSE_PROFILES", None)
    env.pop("BARISTA_ENDPOINT_URL", None)
    env |= ACCESS_KEY_ENVIRON  # over .env's, as the brokers' credentials are
    credentials = {
        name: Credentials.generate(name) for name in ("KAFKA", "RABBITMQ", "REDIS", "HAPROXY_STATS")
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
    try:
        started = time.monotonic()
        up = make(env, "up", timeout=780)
        assert up.returncode == 0, f"make up failed:\n{up.stdout}\n{up.stderr}"
        print(f"make up took {time.monotonic() - started:.0f} s")
        # Its own timing: compose's containers healthy, then the stack applied and serving.
        print(*(line for line in up.stdout.splitlines() if " after " in line), sep="\n")
        yield Demo(project, env, credentials["REDIS"], up.stdout)
    finally:
        make(env, "down", timeout=300)


def test_make_up_prints_the_urls_and_the_demo_serves(demo: Demo):
    shown = (
        ("Dashboard", "ORCHESTRATOR_PORT"),
        ("ALB", "ALB_PORT"),
        ("Pickup board", "PICKUP_BOARD_PORT"),
    )
    for name, variable in shown:
        assert re.search(rf"{name}.*http://127\.0\.0\.1:{demo.port(variable)}/", demo.up_output)
    counters = demo.service("order-api")
    assert counters["launchType"] == "FARGATE"
    assert counters["desiredCount"] == 2
    assert counters["runningCount"] == 2, "make up waits until the counters' tasks run"
    assert running(demo.group("baristas")) >= 1
    status, body = http_get(f"http://127.0.0.1:{demo.port('ALB_PORT')}/menu")
    assert status == 200, body
    assert b"espresso" in body
    status, _ = http_get(f"http://127.0.0.1:{demo.port('ALB_PORT')}/no-such-counter")
    assert status == 404, "the listener's default action answers paths no rule routes"
    assert wait_until(lambda: demo.loadgen_accepted() > 0, timeout=60), (
        "the load generator's orders should reach the counters through the ALB"
    )
    # One clock: the load generator read the orchestrator's, and a day is 86400 / 60 s long.
    status = demo.set_pattern({"pattern": "daily"})
    demo.set_pattern(BASELINE)
    assert status["aligned_to_clock"] is True
    assert status["period"] == 1440


def test_the_orchestrator_runs_unprivileged_and_reaches_docker_only_through_the_proxy(
    demo: Demo,
):
    [container] = run_tool(
        [
            "docker", "ps", "-q",
            "--filter", f"label=com.docker.compose.project={demo.project}",
            "--filter", "label=com.docker.compose.service=orchestrator",
        ]
    ).split()  # fmt: skip
    processes = run_tool(["docker", "top", container, "-eo", "pid,uid,args"]).splitlines()[1:]
    serving = [line.split(None, 2) for line in processes if "orchestrator" in line]
    assert serving, processes
    assert {uid for _, uid, _ in serving} == {"10001"}, "it runs as barista, not as root"
    mounts = run_tool(
        ["docker", "inspect", "-f", "{{range .Mounts}}{{.Source}} {{end}}", container]
    )
    assert "docker.sock" not in mounts
    # The workers it launched are there, so every Docker call it made went through the proxy.
    assert running(demo.group("baristas")) >= 1


def test_a_spike_scales_baristas_out_and_back_in(demo: Demo):
    demo.set_pattern(SPIKE)
    peak = 0

    def scaled_out() -> bool:
        nonlocal peak
        peak = max(peak, running(demo.group("baristas")))
        return peak >= 3

    assert wait_until(scaled_out, timeout=240), demo.activities("baristas")[:5]

    # Above its one On-Demand barista the group buys Spot, and Cost Explorer bills it as such.
    def spot_spend() -> float:
        today = datetime.now(UTC).date()
        found = demo.api.call(
            "ce",
            "GetCostAndUsage",
            {
                "TimePeriod": {
                    "Start": (today - timedelta(days=1)).isoformat(),
                    "End": (today + timedelta(days=3)).isoformat(),
                },
                "Granularity": "MONTHLY",
                "Metrics": ["UnblendedCost"],
                "GroupBy": [{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}],
            },
        )
        return sum(
            float(g["Metrics"]["UnblendedCost"]["Amount"])
            for period in found["ResultsByTime"]
            for g in period["Groups"]
            if g["Keys"] == ["Spot Instances"]
        )

    assert wait_until(lambda: spot_spend() > 0, timeout=60), demo.group("baristas")

    # The counters too: 8 orders/s is above 3 requests per counter per datapoint on 2 of them,
    # so their service auto scaling (ALBRequestCountPerTarget) adds tasks.
    def counters_scaled_out() -> list[int]:
        found = demo.api.call(
            "application-autoscaling",
            "DescribeScalingActivities",
            {"ServiceNamespace": "ecs", "ResourceId": "service/coffee-shop/order-api"},
        )
        prefix = "Setting desired count to "
        return [
            int(a["Description"].removeprefix(prefix).rstrip("."))
            for a in found["ScalingActivities"]
            if a["Description"].startswith(prefix)
        ]

    assert wait_until(lambda: max(counters_scaled_out(), default=0) > 2, timeout=60), demo.service()
    # The spike pattern falls back to its base rate by itself after spike_duration.

    def scaled_in() -> bool:
        group = demo.group("baristas")
        return group["DesiredCapacity"] == 1 and running(group) == 1

    assert wait_until(scaled_in, timeout=600), demo.group("baristas")
    causes = [a["Cause"] for a in demo.activities("baristas")]
    assert any("AlarmHigh" in c and "backlog-per-barista" in c for c in causes), causes
    assert any("AlarmLow" in c and "backlog-per-barista" in c for c in causes), causes


def test_an_order_sent_with_the_aws_cli_is_brewed_and_the_events_topic_fans_out(demo: Demo):
    """What a user does with the AWS CLI on the live demo: subscribe a queue of their own to
    the demo's events topic, put an order straight on the orders queue, publish a note."""
    api = AwsEndpoint(f"http://127.0.0.1:{demo.port('ORCHESTRATOR_PORT')}")

    def aws(*arguments: str) -> dict[str, Any]:
        # awscli 1.x sends SQS to AWS's own host unless the URL is given outright.
        done = api.aws(*arguments, "--endpoint-url", api.url)
        assert done.returncode == 0, f"aws {' '.join(arguments)}: {done.stderr}"
        answer: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
        return answer

    [topic] = [
        t["TopicArn"]
        for t in aws("sns", "list-topics")["Topics"]
        if t["TopicArn"].endswith(":order-events")
    ]
    mine = aws("sqs", "create-queue", "--queue-name", f"my-order-events-{SESSION_ID}")["QueueUrl"]
    mine_arn = aws(
        "sqs", "get-queue-attributes", "--queue-url", mine, "--attribute-names", "QueueArn"
    )["Attributes"]["QueueArn"]
    aws(
        "sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs",
        "--notification-endpoint", mine_arn, "--attributes", "RawMessageDelivery=true",
    )  # fmt: skip

    order_id = f"aws-cli-{SESSION_ID}"
    order = {
        "customer": {"id": "cli-user", "name": "A user of the AWS CLI"},
        "items": [{"item": "espresso", "size": "small", "quantity": 1}],
        "order_id": order_id,
        "accepted_at": datetime.now(UTC).isoformat(),
    }
    orders = aws("sqs", "get-queue-url", "--queue-name", "orders")["QueueUrl"]
    aws("sqs", "send-message", "--queue-url", orders, "--message-body", json.dumps(order))
    ledger = demo.ledger()
    assert wait_until(lambda: ledger.state(order_id) == OrderState.BREWED, timeout=120), (
        ledger.state(order_id)
    )
    assert ledger.brews(order_id) == 1
    aws("sns", "publish", "--topic-arn", topic, "--message", '{"note": "closing at six"}')

    seen: list[dict[str, Any]] = []

    def both_arrived() -> bool:
        answer = aws(
            "sqs", "receive-message", "--queue-url", mine,
            "--max-number-of-messages", "10", "--wait-time-seconds", "5",
        )  # fmt: skip
        for message in answer.get("Messages", []):
            seen.append(json.loads(message["Body"]))
        ready = any(e.get("kind") == "order-ready" and e.get("order_id") == order_id for e in seen)
        return ready and {"note": "closing at six"} in seen

    assert wait_until(both_arrived, timeout=120, interval=0), (
        "the subscribed queue should get the barista's order-ready event and the published note",
        seen[-5:],
    )


class DashboardSession:
    """The dashboard as its page uses it: logged in with the key pair, same-origin JSON."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        self.post("/dashboard/session", {"access_key_id": KEY_ID, "secret_access_key": SECRET})

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return post_json(self.base + path, body, {"Origin": self.base}, self.opener)

    def subscribers(self) -> dict[str, dict[str, Any]]:
        with self.opener.open(self.base + "/dashboard/state", timeout=30) as response:
            topic = json.load(response)["fanout"]["topic"]
        assert "error" not in topic, topic
        return {row["name"]: row for row in topic["subscribers"]}


def place_order(demo: Demo, name: str) -> str:
    """One order through the ALB, as a customer at the counter; its id."""
    order = {
        "customer": {"id": f"e2e-{SESSION_ID}"[:64], "name": name},
        "items": [{"item": "espresso", "size": "small", "quantity": 1}],
    }
    answer = post_json(f"http://127.0.0.1:{demo.port('ALB_PORT')}/orders", order)
    order_id: str = answer["order_id"]
    return order_id


def test_the_pickup_board_calls_out_an_order_placed_through_the_alb(demo: Demo):
    board = f"http://127.0.0.1:{demo.port('PICKUP_BOARD_PORT')}"
    status, page = http_get(f"{board}/")
    assert status == 200
    assert b"EventSource" in page
    with urllib.request.urlopen(f"{board}/stream", timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        order_id = place_order(demo, "Ada Lovelace")
        events: list[dict[str, Any]] = []
        kind = ""
        while not any(e.get("order_id") == order_id for e in events):
            line = stream.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "ready":
                events.append(json.loads(line.removeprefix("data: ")))
    [call] = [e for e in events if e["order_id"] == order_id]
    assert call["text"] == f"order {order_id[-6:].upper()} ready for Ada Lovelace"


def test_stopped_loyalty_catches_up_and_stopped_analytics_misses(demo: Demo):
    """The dashboard's topic panel and its stop/start control on the real containers."""
    dashboard = DashboardSession(f"http://127.0.0.1:{demo.port('ORCHESTRATOR_PORT')}")
    rows = dashboard.subscribers()
    assert set(rows) == {"pickup-board", "loyalty", "analytics"}
    assert all(row["running"] and row["received"] > 0 for row in rows.values()), rows
    assert (rows["loyalty"]["durable"], rows["analytics"]["durable"]) == (True, False)
    ledger = demo.ledger()
    for name in ("loyalty", "analytics"):
        dashboard.post("/dashboard/controls/subscriber", {"subscriber": name, "running": False})
    assert wait_until(
        lambda: not any(dashboard.subscribers()[n]["running"] for n in ("loyalty", "analytics")),
        timeout=30,
        interval=0.5,
    )
    away = [place_order(demo, "Grace Hopper") for _ in range(3)]
    assert wait_until(
        lambda: all(ledger.state(o) == OrderState.BREWED for o in away), timeout=60, interval=0.5
    )
    for name in ("loyalty", "analytics"):
        dashboard.post("/dashboard/controls/subscriber", {"subscriber": name, "running": True})

    def caught_up() -> bool:
        # Both subscribed again (Kafka's group joins take longer than RabbitMQ's binding).
        rows = dashboard.subscribers()
        back = all(rows[n].get("subscribed") is True for n in ("loyalty", "analytics"))
        return back and rows["loyalty"]["missed"] == 0

    assert wait_until(caught_up, timeout=60, interval=0.5), dashboard.subscribers()
    analytics = dashboard.subscribers()["analytics"]
    assert analytics["running"], analytics
    assert analytics["missed"] >= len(away), analytics


def test_the_dashboards_deploy_control_rolls_the_counters_out_under_load(demo: Demo):
    """A new revision of the counters' task definition from the dashboard's button: the ECS
    service's rolling deployment completes while the load generator's orders keep coming
    through the ALB, and none of them fails."""
    dashboard = DashboardSession(f"http://127.0.0.1:{demo.port('ORCHESTRATOR_PORT')}")
    demo.set_pattern({"pattern": "steady", "rate": 4})
    before = demo.loadgen_results()
    answer = dashboard.post(
        "/dashboard/controls/deploy",
        {"cluster": "coffee-shop", "service": "order-api", "change": "environment"},
    )
    revision = answer["task_definition"]
    assert revision.startswith("order-api:")
    assert revision != "order-api:1"

    def rolled_out() -> bool:
        service = demo.service()
        return (
            service["taskDefinition"].endswith(f"/{revision}")
            and [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"]
            and service["runningCount"] == service["desiredCount"]
        )

    started = time.monotonic()
    try:
        assert wait_until(rolled_out, timeout=180, interval=1), demo.service()["deployments"]
        print(f"the counters' rolling deployment completed in {time.monotonic() - started:.0f} s")
        after = demo.loadgen_results()
    finally:
        demo.set_pattern(BASELINE)
    assert after.get("accepted", 0) >= before.get("accepted", 0) + 20, "orders kept coming"
    failed = {
        result: after.get(result, 0) - before.get(result, 0)
        for result in ("rejected", "unavailable", "error")
    }
    assert failed == {"rejected": 0, "unavailable": 0, "error": 0}, failed
    with dashboard.opener.open(dashboard.base + "/dashboard/state", timeout=30) as response:
        (shown,) = json.load(response)["services"]
    assert shown["task_definition"] == revision
    assert shown["deployments"][0]["rollout_state"] == "COMPLETED"


def test_every_accepted_order_is_brewed_once(demo: Demo):
    """By order id: each order a customer saw accepted (202) is in the ledger, brewed once."""
    demo.set_pattern(STOPPED)
    ledger = demo.ledger()
    final: LedgerSummary | None = None

    def settled() -> bool:
        nonlocal final
        final = ledger.summary()
        return final.in_flight == 0 and final.accepted > 0

    assert wait_until(settled, timeout=240), final
    assert final is not None
    assert (final.dead_lettered, final.duplicates) == (0, 0), final
    accepted = demo.accepted_order_ids()
    assert len(accepted) == demo.loadgen_accepted() >= 100, "the spike was real"
    states = {order_id: ledger.state(order_id) for order_id in accepted}
    not_brewed = {order_id: state for order_id, state in states.items() if state != "brewed"}
    assert not not_brewed, f"{len(not_brewed)} accepted orders not brewed: {not_brewed}"
    assert {ledger.brews(order_id) for order_id in accepted} == {1}


def test_make_down_leaves_nothing_behind(demo: Demo):
    workers = leftovers(demo.project)["workers"]
    assert workers, "the orchestrator's workers should be running before make down"
    down = make(demo.env, "down", timeout=300)
    assert down.returncode == 0, f"make down failed:\n{down.stdout}\n{down.stderr}"
    assert leftovers(demo.project) == {
        "containers": [],
        "workers": [],
        "volumes": [],
        "networks": [],
    }
