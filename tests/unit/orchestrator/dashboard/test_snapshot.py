"""The dashboard's snapshot: what the page shows, assembled from the store, the runtime and
the sources, with "n/a" and the reason where a source is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from orchestrator.api import ApiContext, api_routes
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.dashboard import snapshot
from orchestrator.dashboard.snapshot import Dashboard, Sources, capacity_history, placement
from orchestrator.dashboard.sources import Buckets, merge, parse_latency
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling.activity import Activity, ActivityStatusCode
from orchestrator.scaling.metrics import QueueBacklogMetric
from services.ledger import LedgerSummary
from tests.support.aws_auth import CREDENTIALS, SIGV4
from tests.unit.orchestrator.dashboard.conftest import (
    FakeLedger,
    Services,
    Settings,
    Wall,
    caller,
    log_in,
    make_dashboard,
)


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The conftest's client, logged in: the state needs a session."""
    log_in(client)
    return client


def converge(store_path: Path, runtime: FakeRuntime) -> None:
    with Store(store_path) as store:
        AutoScalingController(store, runtime).reconcile_once()


def launch(at: float, instance: str, status: str = "Successful") -> Activity:
    return Activity(
        activity_id=f"launch-{instance}",
        resource_id="baristas",
        description=f"Launching a new EC2 instance: {instance}",
        cause="test",
        start_time=at,
        status_code=ActivityStatusCode(status),
        end_time=at,
    )


def terminate(at: float, instance: str) -> Activity:
    return Activity(
        activity_id=f"terminate-{instance}",
        resource_id="baristas",
        description=f"Terminating EC2 instance: {instance}",
        cause="test",
        start_time=at,
        status_code=ActivityStatusCode.SUCCESSFUL,
        end_time=at,
    )


def test_capacity_history_replays_the_activity_record_backwards_from_the_current_count():
    activities = [launch(110, "i-1"), launch(120, "i-2"), terminate(150, "i-1"), launch(5, "old")]
    failed = launch(130, "i-3", status="Failed")
    history = capacity_history(1, [*activities, failed], since=100, now=200)
    assert history == [(100, 0), (110, 1), (120, 2), (150, 1), (200, 1)]


def test_instances_show_their_state_protection_and_market(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    first, second = sorted(i.instance_id for i in runtime.instances())
    caller(client, "autoscaling")(
        "SetInstanceProtection",
        AutoScalingGroupName=group,
        InstanceIds=[first],
        ProtectedFromScaleIn=True,
    )
    runtime.set_health(second, Health.STARTING)

    (shown,) = client.get("/dashboard/state").json()["groups"]

    assert (shown["name"], shown["min_size"], shown["desired_capacity"]) == (group, 0, 2)
    rows = {row["instance_id"]: row for row in shown["instances"]}
    assert rows[first]["state"] == "in service"
    assert rows[first]["protected"] is True
    assert rows[second]["state"] == "pending"
    assert rows[second]["lifecycle"] == "on-demand"
    # Beside the page's word, AWS's lifecycle state, as DescribeAutoScalingInstances has it.
    described = caller(client, "autoscaling")("DescribeAutoScalingInstances")
    aws_states = {i["InstanceId"]: i["LifecycleState"] for i in described["AutoScalingInstances"]}
    assert {i: rows[i]["lifecycle_state"] for i in (first, second)} == aws_states
    assert rows[first]["lifecycle_state"] == "InService"
    assert shown["counts"] == {"in service": 1, "pending": 1}
    assert shown["protected"] == 1
    assert shown["history"][-1][1] == 2, "two launches on record, two instances now"
    # One engine: no host, the two instances counted by zone alone.
    assert rows[first]["host"] is None
    assert sum(p["instances"] for p in shown["placement"]) == 2
    assert {p["host"] for p in shown["placement"]} == {None}


def _instance(instance_id: str, zone: str, host: str | None, health: Health) -> Instance:
    return Instance(
        instance_id=instance_id,
        group="g",
        launch_template="lt",
        template_version=1,
        availability_zone=zone,
        lifecycle=Lifecycle.ON_DEMAND,
        protected_at_launch=False,
        launched_at=0.0,
        health=health,
        container_id=instance_id,
        host=host,
    )


def test_live_instances_are_counted_per_zone_and_host():
    found = placement(
        [
            _instance("i-1", "az-b", "node-2", Health.HEALTHY),
            _instance("i-2", "az-a", "node-1", Health.STARTING),
            _instance("i-3", "az-b", "node-2", Health.UNHEALTHY),
            _instance("i-4", "az-b", "node-4", Health.HEALTHY),
            _instance("i-5", "az-c", "node-3", Health.STOPPED),  # terminating: not counted
        ]
    )
    assert found == [
        {"availability_zone": "az-a", "host": "node-1", "instances": 1},
        {"availability_zone": "az-b", "host": "node-2", "instances": 2},
        {"availability_zone": "az-b", "host": "node-4", "instances": 1},
    ]
    # On one engine there is no host: one row per zone.
    assert placement([_instance("i-1", "az-a", None, Health.HEALTHY)]) == [
        {"availability_zone": "az-a", "host": None, "instances": 1}
    ]


def test_activities_show_with_their_causes(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    activities = client.get("/dashboard/state").json()["activities"]
    assert len(activities) == 2
    assert activities[0]["description"].startswith("Launching a new EC2 instance: ")
    assert "increasing the capacity from 0 to 2" in activities[0]["cause"]


def test_backlog_per_instance_is_charted_against_the_policy_target(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime
):
    converge(store_path, runtime)
    caller(client, "autoscaling")(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Namespace": "AWS/SQS",
                "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                "Statistic": "Sum",
            },
            "TargetValue": 10,
        },
    )
    key = QueueBacklogMetric("orders").key
    runtime.advance(120)
    now = runtime.now()
    with Store(store_path) as store:
        store.record_datapoint(key, now - 150, 40, keep=3600)  # before any instance: no quotient
        store.record_datapoint(key, now - 60, 30, keep=3600)
        store.record_datapoint(key, now, 50, keep=3600)

    state = client.get("/dashboard/state").json()

    (queue,) = state["queues"]
    assert queue["queue"] == "orders"
    assert queue["series"] == [[now - 150, 40], [now - 60, 30], [now, 50]]
    assert queue["latest"] == 50
    (policy,) = state["groups"][0]["policies"]
    assert policy["target"] == 10
    assert policy["metric"] == "backlog per instance of orders"
    assert policy["series"] == [[now - 60, 15], [now, 25]]


def test_the_time_scale_and_the_control_plane_clock_are_shown(
    client: TestClient, runtime: FakeRuntime
):
    clock = client.get("/dashboard/state").json()["clock"]
    assert clock["time_scale"] == 60
    assert clock["now"] == runtime.now()
    assert clock["period"] == 60
    assert clock["now"] - clock["since"] == 3 * 3600, "CloudWatch's default graph: 3 hours"


def test_unconfigured_sources_are_not_available_and_name_the_setting(
    store_path: Path, runtime: FakeRuntime, wall: Wall
):
    settings = Settings()
    dashboard = make_dashboard(
        store_path, runtime, Sources.from_settings(settings), wall, settings=settings
    )
    try:
        state = dashboard.snapshot()
    finally:
        dashboard.close()
    assert state["traffic"] == {"error": "BARISTA_LOADGEN_URL is not set"}
    assert state["ledger"]["error"] == "BARISTA_LEDGER_URL is not set"
    assert "BARISTA_LEDGER_URL" in state["throughput"]["error"]
    assert "no barista reports" in state["latency"]["error"]
    assert state["live_backlog"] == {"error": "BARISTA_BROKER_URL is not set"}
    assert state["controls"] == {
        "traffic": False,
        "poison": False,
        "restart_broker": False,
        "chaos": True,
        "deploy": False,
        "subscribers": False,
    }
    assert state["services"] == [], "no ECS service: the deploy buttons have nothing to deploy"
    assert state["fanout"]["topic"] == {"error": "BARISTA_SUBSCRIBERS is not set"}


def test_ledger_counts_with_lost_bounded_by_what_the_queue_still_holds(
    dashboard: Dashboard, fakes: tuple[object, FakeLedger], services: Services, wall: Wall
):
    _, ledger = fakes
    ledger.counts = LedgerSummary(
        accepted=20, brewed=12, dead_lettered=1, in_flight=7, duplicates=2
    )
    services.place(8)
    services.reject(1)  # the redrive policy moves it to orders-dlq
    services.hold(2)  # in a barista's hands: still on the queue, in flight

    def read() -> dict[str, object]:
        wall.now += 1.5
        dashboard.invalidate()
        shown: dict[str, object] = dashboard.snapshot()["ledger"]
        return shown

    first = read()
    assert first["lost"] is None
    assert first["lost_reason"] == "measuring: lost needs a few seconds of readings"
    read()
    assert read() == {
        "backend": "amqp",
        "accepted": 20,
        "brewed": 12,
        "dead_lettered": 1,
        "in_flight": 7,
        "duplicates": 2,
        "lost": 0,
    }
    assert dashboard.snapshot()["live_backlog"] == {"orders": 7, "orders-dlq": 1}
    services.brew(2)  # one reading where two orders finished between the reads
    assert read()["lost"] == 0, "a race between two reads is not a loss"
    services.brew(1)  # three the ledger waits for are nowhere, for good
    for _ in range(8):
        shown = read()
    assert shown["lost"] == 3


def test_lost_needs_the_broker(store_path: Path, runtime: FakeRuntime, wall: Wall):
    settings = Settings()
    sources = Sources(ledger=FakeLedger(), unset={"broker": "BARISTA_BROKER_URL is not set"})
    dashboard = make_dashboard(store_path, runtime, sources, wall, settings=settings)
    try:
        shown = dashboard.snapshot()["ledger"]
    finally:
        dashboard.close()
    assert shown["lost"] is None
    assert shown["lost_reason"] == "needs the orders queue's backlog: BARISTA_BROKER_URL is not set"


def test_throughput_is_the_ledger_rate_between_readings_and_na_before_two(
    dashboard: Dashboard, fakes: tuple[object, FakeLedger], wall: Wall
):
    _, ledger = fakes
    ledger.counts = LedgerSummary(accepted=10, brewed=4, dead_lettered=0, in_flight=6, duplicates=0)
    assert "measuring" in dashboard.snapshot()["throughput"]["error"]
    wall.now += 2.5
    ledger.counts = LedgerSummary(
        accepted=20, brewed=10, dead_lettered=0, in_flight=10, duplicates=0
    )
    throughput = dashboard.snapshot()["throughput"]
    assert throughput["brewed_per_second"] == 2.4
    assert throughput["accepted_per_second"] == 4.0
    assert throughput["series"] == [[wall.now, 2.4, 4.0]]


def test_a_source_that_fails_shows_why(dashboard: Dashboard, fakes: tuple[object, ...]):
    class Broken:
        def summary(self) -> LedgerSummary:
            raise ConnectionError("redis is restarting")

    dashboard.sources.ledger = Broken()  # type: ignore[assignment]
    assert dashboard.snapshot()["ledger"]["error"] == "ConnectionError: redis is restarting"


def test_latency_percentiles_from_merged_histograms():
    page = "\n".join(
        [
            "# TYPE barista_order_latency_seconds histogram",
            'barista_order_latency_seconds_bucket{le="1.0"} 2.0',
            'barista_order_latency_seconds_bucket{le="2.0"} 8.0',
            'barista_order_latency_seconds_bucket{le="+Inf"} 10.0',
            "barista_order_latency_seconds_count 10.0",
            "barista_order_latency_seconds_sum 15.0",
        ]
    )
    one = parse_latency(page)
    assert one == Buckets(((1.0, 2.0), (2.0, 8.0), (float("inf"), 10.0)))
    merged = merge([one, one])
    assert merged.count == 20
    assert merged.quantile(0.5) == 1.5  # rank 10 of 20: halfway through the (1, 2] bucket
    assert merged.quantile(0.99) == 2.0  # in +Inf: the highest finite bound, as Prometheus
    assert parse_latency("# nothing here\n") is None
    assert Buckets(()).quantile(0.5) is None


def test_the_page_and_its_scripts_are_served(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200
    assert "/dashboard/static/dashboard.js" in page.text
    script = client.get("/dashboard/static/charts.js")
    assert script.status_code == 200
    assert "http" not in script.text.replace("http://www.w3.org/2000/svg", ""), "no CDN"


def histogram(fast: float, slow: float) -> Buckets:
    return Buckets(((1.0, fast), (10.0, fast + slow), (float("inf"), fast + slow)))


@pytest.mark.usefixtures("group")
def test_latency_percentiles_cover_the_last_minute_once_readings_span_it(
    dashboard: Dashboard,
    runtime: FakeRuntime,
    store_path: Path,
    wall: Wall,
    monkeypatch: pytest.MonkeyPatch,
):
    converge(store_path, runtime)
    first, second = sorted((i.address or "") for i in runtime.instances())
    pages = {first: histogram(fast=0, slow=10), second: histogram(fast=0, slow=10)}
    monkeypatch.setattr(snapshot, "scrape_latency", lambda addresses, port: dict(pages))

    latency = dashboard.snapshot()["latency"]
    assert latency["orders"] == 20
    assert latency["p50"] == 5.5  # all slow so far: mid-bucket of (1, 10]
    assert latency["source"].startswith("orders ready since each live barista started")

    wall.now += 30
    pages[first] = histogram(fast=10, slow=10)  # ten fast orders since
    dashboard.invalidate()
    latency = dashboard.snapshot()["latency"]
    assert latency["orders"] == 10
    assert latency["p99"] == 0.99
    assert latency["source"].startswith("orders ready in the last 30 wall seconds")

    wall.now += 30
    pages = {}
    dashboard.invalidate()
    assert "no barista reports" in dashboard.snapshot()["latency"]["error"]


def test_a_restarted_process_counts_from_zero_again():
    earlier = histogram(fast=5, slow=5)
    assert histogram(fast=7, slow=5).since(earlier) == histogram(fast=2, slow=0)
    assert histogram(fast=1, slow=0).since(earlier) == histogram(fast=1, slow=0)


def test_target_groups_show_and_haproxy_not_answering_is_said_per_group(
    store_path: Path, runtime: FakeRuntime, wall: Wall
):
    context = ApiContext(
        store_path=store_path,
        runtime=runtime,
        environ={"BARISTA_HAPROXY_RUNTIME_API": "127.0.0.1:1"},  # nothing listens on port 1
        credentials=CREDENTIALS,
    )
    with TestClient(Starlette(routes=api_routes(context))) as api:
        api.auth = SIGV4
        created = api.post("/api/elbv2/CreateTargetGroup", json={"Name": "counters", "Port": 8080})
        assert created.status_code == 200, created.text
    dashboard = Dashboard(context, Settings(), sources=Sources(), wall=wall)
    try:
        (shown,) = dashboard.snapshot()["load_balancers"]["target_groups"]
    finally:
        dashboard.close()
    assert (shown["name"], shown["port"]) == ("counters", 8080)
    assert "HAProxy's runtime API does not answer" in shown["error"]


def test_an_instance_whose_target_drains_shows_draining(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime, wall: Wall
):
    converge(store_path, runtime)
    victim = runtime.instances()[0].instance_id

    def draining() -> dict[str, object]:
        target = {"id": victim, "port": 8080, "state": "draining", "reason": None}
        return {"target_groups": [{"name": "tg", "targets": [target]}], "draining": [victim]}

    dashboard = Dashboard(
        ApiContext(store_path=store_path, runtime=runtime),
        Settings(),
        sources=Sources(),
        wall=wall,
        elb=draining,
    )
    try:
        state = dashboard.snapshot()
    finally:
        dashboard.close()
    rows = {row["instance_id"]: row["state"] for row in state["groups"][0]["instances"]}
    assert rows[victim] == "draining"
    assert "draining" not in state["load_balancers"], "the page gets it per target"


def test_a_predictive_policy_charts_its_forecast_against_instances_and_marks_its_launches(
    client: TestClient, group: str, store_path: Path, runtime: FakeRuntime
):
    from orchestrator.scaling.predictive import Forecast  # noqa: PLC0415

    converge(store_path, runtime)
    caller(client, "autoscaling")(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="rush",
        PolicyType="PredictiveScaling",
        PredictiveScalingConfiguration={
            "MetricSpecifications": [
                {
                    "TargetValue": 40,
                    "PredefinedMetricPairSpecification": {
                        "PredefinedMetricType": "ASGCPUUtilization"
                    },
                }
            ],
            "Mode": "ForecastAndScale",
        },
    )
    now = runtime.now()
    hour = now - now % 3600
    raised = Activity(
        activity_id="launch-forecast",
        resource_id=group,
        description="Launching a new EC2 instance: i-forecast",
        cause="At 2026-11-28T00:55:00Z the forecast of predictive scaling policy rush for the "
        "hour starting 2026-11-28T01:00:00Z (capacity 3) changed the desired capacity from 2 "
        "to 3.",
        start_time=now - 30,
        status_code=ActivityStatusCode.SUCCESSFUL,
        end_time=now - 30,
    )
    with Store(store_path) as store:
        store.put_forecast(
            group, "rush", now, Forecast(now, (hour, hour + 3600), (80.0, 120.0), (2.0, 3.0))
        )
        store.record_activities([raised])

    state = client.get("/dashboard/state").json()

    (policy,) = state["groups"][0]["policies"]
    assert policy["metric"] == "capacity forecast (ForecastAndScale) against instances"
    assert policy["forecast"] == [[hour, 2.0], [hour + 3600, 3.0]]
    assert policy["forecast_updated"] == now
    assert policy["actual"] == state["groups"][0]["history"]
    assert [t for t, _ in policy["from_forecast"]] == [now - 30]


@pytest.mark.usefixtures("group")
def test_the_queue_half_shows_the_orders_each_live_barista_brewed(
    dashboard: Dashboard,
    runtime: FakeRuntime,
    store_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    converge(store_path, runtime)
    by_address = {i.address or "": i.instance_id for i in runtime.instances()}
    first, second = sorted(by_address)
    pages = {first: histogram(fast=3, slow=4), second: histogram(fast=0, slow=5)}
    monkeypatch.setattr(snapshot, "scrape_latency", lambda addresses, port: dict(pages))

    queue = dashboard.snapshot()["fanout"]["queue"]
    assert queue["queue"] == "orders"
    assert sorted((b["instance_id"], b["orders"]) for b in queue["baristas"]) == sorted(
        [(by_address[first], 7), (by_address[second], 5)]
    )
    assert queue["live_total"] == 12


def test_with_a_group_scaled_on_the_orders_backlog_only_its_instances_are_baristas(
    client: TestClient,
    dashboard: Dashboard,
    group: str,
    store_path: Path,
    runtime: FakeRuntime,
    monkeypatch: pytest.MonkeyPatch,
):
    """The order counters serve the same histogram, empty: they are not baristas. A barista
    that has brewed nothing yet is one all the same."""
    api = caller(client, "autoscaling")
    api(
        "CreateAutoScalingGroup",
        AutoScalingGroupName="counters",
        LaunchTemplate={"LaunchTemplateName": "baristas"},
        MinSize=1,
        MaxSize=1,
        DesiredCapacity=1,
        AvailabilityZones=["az-a"],
    )
    api(
        "PutScalingPolicy",
        AutoScalingGroupName=group,
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Namespace": "AWS/SQS",
                "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                "Statistic": "Sum",
            },
            "TargetValue": 10,
        },
    )
    converge(store_path, runtime)
    members = {i.address or "": i for i in runtime.instances()}
    assert sorted(i.group for i in members.values()) == ["baristas", "baristas", "counters"]
    pages = {
        address: histogram(fast=0, slow=4 if i.group == group else 0)
        for address, i in members.items()
    }
    newest = max((i for i in members.values() if i.group == group), key=lambda i: i.instance_id)
    pages[newest.address or ""] = histogram(fast=0, slow=0)
    monkeypatch.setattr(snapshot, "scrape_latency", lambda addresses, port: dict(pages))

    baristas = dashboard.snapshot()["fanout"]["queue"]["baristas"]
    shown = {b["instance_id"]: b["orders"] for b in baristas}
    expected = {i.instance_id: 4 for i in members.values() if i.group == group}
    assert shown == expected | {newest.instance_id: 0}
