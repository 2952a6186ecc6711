"""The queue beside the topic: per-barista orders, per-subscriber events, what a stopped
subscriber missed, and the control that stops and starts a subscriber's container."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from orchestrator.api import api_routes
from orchestrator.dashboard import dashboard_routes
from orchestrator.dashboard.fanout import (
    Subscribers,
    parse_subscribers,
    queue_view,
    subscriber_view,
    topic_view,
)
from orchestrator.dashboard.snapshot import Sources
from orchestrator.runtime.fake import FakeRuntime
from services.ledger import LedgerSummary
from tests.support.aws_auth import SIGV4
from tests.unit.orchestrator.dashboard.conftest import (
    FakeLedger,
    FakeLoadgen,
    Settings,
    Wall,
    log_in,
    make_dashboard,
)

URLS = {"loyalty": "http://loyalty:8080", "analytics": "http://analytics:8080"}


def test_subscribers_are_parsed_from_name_equals_url_pairs():
    assert parse_subscribers(None) == {}
    assert parse_subscribers("loyalty=http://loyalty:8080/, analytics=http://a:8080") == {
        "loyalty": "http://loyalty:8080",
        "analytics": "http://a:8080",
    }
    for bad in ("loyalty", "=http://x:1", "loyalty=ftp://x"):
        with pytest.raises(ValueError, match="BARISTA_SUBSCRIBERS"):
            parse_subscribers(bad)


def stats(durable: bool, ready: int, placed: int = 0) -> dict[str, Any]:
    return {
        "subscription": "x",
        "topic": "order-events",
        "durable": durable,
        "subscribed": True,
        "started_at": 1.0,
        "events": {"order-ready": ready, "order-placed": placed},
    }


def test_missed_is_what_was_published_since_the_last_stop_and_not_received():
    # Stopped at 100 brewed; 40 more were brewed since. The durable one got all 40 on start,
    # the fire-and-forget one only the 15 published after it started again.
    durable = subscriber_view("loyalty", stats(True, 40), True, brewed=140, baseline=100)
    forgetful = subscriber_view("analytics", stats(False, 15), True, brewed=140, baseline=100)
    assert (durable["received"], durable["missed"]) == (40, 0)
    assert (forgetful["received"], forgetful["missed"]) == (15, 25)
    # A redelivery can make received exceed what was published: never a negative miss.
    assert subscriber_view("l", stats(True, 42), True, 140, 100)["missed"] == 0
    assert subscriber_view("l", stats(True, 1), True, None, 0)["missed"] is None


def test_a_subscriber_that_does_not_answer_shows_why_and_its_container_state():
    view = subscriber_view("analytics", {"error": "refused"}, False, 10, 0)
    assert view == {"name": "analytics", "running": False, "error": "refused"}


def test_the_queue_shares_orders_out_and_the_topic_gives_each_subscriber_all():
    ledger = {"accepted": 12, "brewed": 10, "duplicates": 0, "in_flight": 2}
    queue = queue_view({"i-2": 4, "i-1": 6}, ledger, "orders")
    assert queue["baristas"] == [
        {"instance_id": "i-1", "orders": 6},
        {"instance_id": "i-2", "orders": 4},
    ]
    assert (queue["live_total"], queue["brewed"], queue["duplicates"]) == (10, 10, 0)
    topic = topic_view(
        "order-events",
        {"loyalty": stats(True, 10, 12), "analytics": stats(False, 10, 12)},
        {"loyalty": True, "analytics": True},
        ledger,
        {},
    )
    assert topic["published"] == {"order-placed": 12, "order-ready": 10}
    assert [(s["name"], s["received"], s["missed"]) for s in topic["subscribers"]] == [
        ("loyalty", 10, 0),
        ("analytics", 10, 0),
    ]
    unknown = topic_view("order-events", {}, {}, {"error": "no ledger"}, {})
    assert unknown["published"] is None


class FixedSubscribers(Subscribers):
    """Subscribers whose ``/stats`` answers are set by the test."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        super().__init__(dict.fromkeys(answers, "http://unused:8080"))
        self.answers = answers

    def read(self) -> dict[str, dict[str, Any]]:
        return {name: dict(answer) for name, answer in self.answers.items()}


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger(
        LedgerSummary(accepted=12, brewed=10, dead_lettered=0, in_flight=2, duplicates=0)
    )


@pytest.fixture
def subscribers() -> FixedSubscribers:
    return FixedSubscribers({"loyalty": stats(True, 10), "analytics": stats(False, 10)})


@pytest.fixture
def fanout_client(
    store_path: Path,
    runtime: FakeRuntime,
    wall: Wall,
    ledger: FakeLedger,
    subscribers: FixedSubscribers,
) -> Iterator[TestClient]:
    runtime.services.update({"loyalty": "demo-loyalty-1", "analytics": "demo-analytics-1"})
    sources = Sources(FakeLoadgen(), ledger, None, {}, subscribers)
    settings = Settings(compose_project="demo")
    dashboard = make_dashboard(store_path, runtime, sources, wall, settings=settings)
    app = Starlette(routes=[*api_routes(dashboard.context), *dashboard_routes(dashboard)])
    with TestClient(app) as client:
        client.auth = SIGV4
        log_in(client)
        yield client
    dashboard.close()


def press(client: TestClient, expect: int = 200, **body: object) -> dict[str, Any]:
    response = client.post("/dashboard/controls/subscriber", json=body)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def topic_rows(client: TestClient) -> dict[str, dict[str, Any]]:
    topic = client.get("/dashboard/state").json()["fanout"]["topic"]
    return {row["name"]: row for row in topic["subscribers"]}


def test_stopping_a_subscriber_stops_its_container_and_counts_what_it_misses(
    fanout_client: TestClient,
    runtime: FakeRuntime,
    ledger: FakeLedger,
    subscribers: FixedSubscribers,
    wall: Wall,
):
    state = fanout_client.get("/dashboard/state").json()
    assert state["controls"]["subscribers"] is True
    assert all(row["missed"] == 0 for row in topic_rows(fanout_client).values())

    answer = press(fanout_client, subscriber="analytics", running=False)
    assert answer == {"subscriber": "analytics", "container": "demo-analytics-1", "running": False}
    assert runtime.stopped_services == {"analytics"}
    # A second stop of a stopped subscriber keeps the count of the first.
    ledger.counts = LedgerSummary(20, 15, 0, 5, 0)
    press(fanout_client, subscriber="analytics", running=False)

    # Five more ready while it was away; started again, it receives only the next three.
    ledger.counts = LedgerSummary(25, 18, 0, 7, 0)
    press(fanout_client, subscriber="analytics", running=True)
    assert runtime.stopped_services == set()
    subscribers.answers["analytics"] = stats(False, 3)
    wall.now += 1  # past the snapshot cache
    rows = topic_rows(fanout_client)
    assert (rows["analytics"]["received"], rows["analytics"]["missed"]) == (3, 5)
    assert rows["analytics"]["counted_from_brewed"] == 10
    assert rows["analytics"]["running"] is True
    assert rows["loyalty"]["counted_from_brewed"] == 0


def test_the_subscriber_control_refuses_what_it_does_not_know(fanout_client: TestClient):
    unknown = press(fanout_client, 404, subscriber="rabbitmq", running=False)
    assert unknown["error"] == "no subscriber 'rabbitmq'; known: analytics, loyalty"
    missing = press(fanout_client, 400, subscriber="loyalty")
    assert "running: Field required" in missing["error"]


def test_a_stopped_subscriber_shows_as_stopped(
    fanout_client: TestClient, runtime: FakeRuntime, subscribers: FixedSubscribers, wall: Wall
):
    press(fanout_client, subscriber="loyalty", running=False)
    subscribers.answers["loyalty"] = {"error": "http://loyalty:8080/stats does not answer"}
    wall.now += 1
    row = topic_rows(fanout_client)["loyalty"]
    assert row["running"] is False
    assert "does not answer" in row["error"]


def test_the_clock_is_public_and_is_the_control_plane_s(
    fanout_client: TestClient, runtime: FakeRuntime, wall: Wall
):
    fanout_client.cookies.clear()
    answer = fanout_client.get("/dashboard/clock")
    assert answer.status_code == 200
    assert answer.json() == {"now": runtime.now(), "wall": wall.now, "time_scale": 60.0}
