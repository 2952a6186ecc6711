"""The topic's subscribers in real headless Chromium (Debian's ``chromium`` through Playwright,
as ``test_dashboard.py`` runs it): the pickup board calls out a ready order the moment it is
published, pushed to the open page by server-sent events; the dashboard's topic panel shows
loyalty (durable) and analytics (fire-and-forget) as containers, and its stop/start buttons
stop and start them: stopped while events are published, loyalty catches up and analytics
misses them, and the panel says so.

The subscribers run as the demo runs them, from the service image, labelled as Compose labels
its services (the control finds them that way), on the session's RabbitMQ; the orchestrator
reads their ``/stats`` at their container addresses and the ledger a barista would write."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import docker
import pytest

from broker_adapters import connect
from services.ledger import Ledger
from services.orders import EventKind, OrderEvent
from tests.e2e.test_dashboard import TIMEOUT_MS, log_in
from tests.support.brokers import Endpoint, http_get
from tests.support.containers import (
    LOOPBACK,
    SESSION_ID,
    SESSION_LABEL,
    free_loopback_port,
    stable_image,
)
from tests.support.orchestrator import OrchestratorProcess
from tests.support.processes import service_environment, serving
from tests.support.receiving import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Locator

pytestmark = pytest.mark.docker

PROJECT = f"fanout-{SESSION_ID}"
SUBSCRIBERS = {"loyalty": True, "analytics": False}  # name → durable
CALL_OUT_MS = 5_000  # "the moment it happens": a few seconds at most


def address(container: docker.models.containers.Container) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["IPAddress"])


def side_door(container: docker.models.containers.Container) -> str:
    container.reload()
    (binding,) = container.attrs["HostConfig"]["PortBindings"]["8080/tcp"]
    return f"http://{LOOPBACK}:{binding['HostPort']}"


def answers(url: str) -> bool:
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False


def ready(container: docker.models.containers.Container) -> bool:
    return answers(f"{side_door(container)}/readyz")


@pytest.fixture
def topic() -> str:
    return f"fanout-{uuid.uuid4().hex[:8]}-events"


@pytest.fixture
def subscriber_containers(
    rabbitmq: Endpoint, topic: str
) -> Iterator[dict[str, docker.models.containers.Container]]:
    client = docker.from_env()
    broker = rabbitmq.internal_url(host=address(rabbitmq.container.get_wrapped_container()))
    started = {}
    try:
        for name, durable in SUBSCRIBERS.items():
            # A published port, not the container's address: that may change on a restart.
            started[name] = client.containers.run(
                stable_image("service"),
                ["serve", "subscriber"],
                detach=True,
                environment={
                    "BARISTA_BROKER_URL": broker,
                    "BARISTA_SUBSCRIPTION": name,
                    "BARISTA_DURABLE": str(durable).lower(),
                    "BARISTA_EVENTS_TOPIC": topic,
                },
                labels={
                    SESSION_LABEL: SESSION_ID,
                    "com.docker.compose.project": PROJECT,
                    "com.docker.compose.service": name,
                },
                ports={"8080/tcp": (LOOPBACK, free_loopback_port())},
            )
        urls = {name: side_door(c) for name, c in started.items()}
        assert wait_for(lambda: all(ready(c) for c in started.values()), timeout=60), {
            name: (urls[name], c.logs(tail=20)) for name, c in started.items()
        }
        yield started
    finally:
        for container in started.values():
            container.remove(force=True)
        with connect(rabbitmq.url) as cleanup:
            cleanup.delete_subscription(topic, "loyalty")


@pytest.fixture
def pickup_board(rabbitmq: Endpoint, topic: str) -> Iterator[str]:
    """``barista serve subscriber`` as the pickup board, on the host."""
    port = free_loopback_port()
    env = service_environment(
        broker_url=rabbitmq.url, subscription="pickup-board", events_topic=topic, port=str(port)
    )
    url = f"http://{LOOPBACK}:{port}"
    with serving("subscriber", env) as process:
        assert wait_for(lambda: answers(f"{url}/readyz"), timeout=60), process.poll()
        yield url


@pytest.fixture
def ledger(redis_server: Endpoint) -> tuple[str, str]:
    return redis_server.url, f"test:fanout-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def orchestrator(
    tmp_path, subscriber_containers, ledger: tuple[str, str]
) -> Iterator[OrchestratorProcess]:
    subscribers = ",".join(f"{name}={side_door(c)}" for name, c in subscriber_containers.items())
    running = OrchestratorProcess(
        tmp_path / "barista.db",
        free_loopback_port(),
        time_scale="60",
        subscribers=subscribers,
        compose_project=PROJECT,
        ledger_url=ledger[0],
        ledger_namespace=ledger[1],
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


def brew(broker_url: str, topic: str, ledger: Ledger, customer: str) -> str:
    """What a barista does once an order is made: the ledger says brewed, the topic "ready"."""
    order_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    ledger.accepted(order_id)
    ledger.brewed(order_id)
    event = OrderEvent(
        kind=EventKind.READY,
        order_id=order_id,
        customer_id="c001",
        customer_name=customer,
        cups=1,
        at=now,
        accepted_at=now,
        barista="barista-1",
    )
    with connect(broker_url) as publisher:
        publisher.publish(topic, event.model_dump_json().encode())
    return order_id


def row(panel: Locator, name: str) -> Locator:
    return panel.locator(f'tr[data-subscriber-row="{name}"]')


def test_the_pickup_board_and_the_topic_panel_in_a_browser(
    *,
    chromium: str,
    rabbitmq: Endpoint,
    topic: str,
    pickup_board: str,
    orchestrator: OrchestratorProcess,
    subscriber_containers: dict[str, docker.models.containers.Container],
    ledger: tuple[str, str],
):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - dev extra only

    book = Ledger.from_url(*ledger)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            board = context.new_page()
            board.goto(pickup_board + "/")
            expect(board.locator("#status")).to_have_text("live", timeout=TIMEOUT_MS)
            dashboard = context.new_page()
            dashboard.goto(orchestrator.client.endpoint + "/")
            log_in(dashboard)
            panel = dashboard.locator("#fanout-topic")
            for name in SUBSCRIBERS:
                expect(row(panel, name)).to_contain_text("running", timeout=TIMEOUT_MS)

            first = brew(rabbitmq.url, topic, book, "Ada Lovelace")
            expect(board.locator("#calls li").first).to_contain_text(
                f"order {first[-6:].upper()} ready for Ada Lovelace", timeout=CALL_OUT_MS
            )
            for name in SUBSCRIBERS:
                expect(row(panel, name).locator(".received")).to_have_text("1", timeout=TIMEOUT_MS)
                expect(row(panel, name).locator(".missed")).to_have_text("0")

            # Stop both from the page, then two orders are brewed while they are away.
            for name in SUBSCRIBERS:
                row(panel, name).get_by_role("button", name="stop").click()
                expect(row(panel, name)).to_contain_text("stopped", timeout=TIMEOUT_MS)
                expect(dashboard.locator("#status")).to_contain_text(f"subscriber {name}")
            for container in subscriber_containers.values():
                container.reload()
                assert container.status == "exited"
            away = [brew(rabbitmq.url, topic, book, "Grace Hopper") for _ in range(2)]
            expect(board.locator("#calls li")).to_have_count(3, timeout=CALL_OUT_MS)

            for name in SUBSCRIBERS:
                row(panel, name).get_by_role("button", name="start").click()
                expect(row(panel, name)).to_contain_text("running", timeout=TIMEOUT_MS)
            # Durable: the two it missed arrive on start. Fire-and-forget: never.
            loyalty, analytics = row(panel, "loyalty"), row(panel, "analytics")
            expect(loyalty.locator(".received")).to_have_text("2", timeout=TIMEOUT_MS)
            expect(loyalty.locator(".missed")).to_have_text("0")
            expect(analytics.locator(".missed")).to_have_text(str(len(away)))
            # Subscribed again (a topic delivers what is published after that) before the last.
            assert wait_for(lambda: all(ready(c) for c in subscriber_containers.values()), 60)
            last = brew(rabbitmq.url, topic, book, "Alan Turing")
            expect(loyalty.locator(".received")).to_have_text("3", timeout=TIMEOUT_MS)
            expect(analytics.locator(".received")).to_have_text("1", timeout=TIMEOUT_MS)
            expect(analytics.locator(".missed")).to_have_text(str(len(away)))
            expect(board.locator("#calls li").first).to_contain_text(
                f"order {last[-6:].upper()} ready for Alan Turing", timeout=CALL_OUT_MS
            )

            screenshot = os.environ.get("BARISTA_FANOUT_SCREENSHOT")
            if screenshot:
                dashboard.locator("#fanout-panel").screenshot(path=screenshot)
                board.locator("body").screenshot(path=screenshot.replace(".png", "-board.png"))
        finally:
            browser.close()
