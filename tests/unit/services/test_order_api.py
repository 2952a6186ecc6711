from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from broker_adapters import QueueConfig, RedrivePolicy
from services import order_api
from services.ledger import OrderState
from services.messaging import declare_orders
from services.order_api import MAX_BODY_BYTES, OrderApiSettings, create_app, main
from services.order_api.calls import BlockingCalls, Saturated
from services.orders import EventKind, Order, OrderEvent
from services.settings import SettingsError, load
from tests.unit.services.fakes import FakeLedger, RecordingBroker

ENVIRON = {
    "BARISTA_BROKER_URL": "redis://barista:secret@broker:6379/0",
    "BARISTA_LEDGER_URL": "redis://barista:secret@ledger:6379/1",
}
ORDER = {
    "customer": {"id": "table-4", "name": "Ada"},
    "items": [{"item": "flat-white", "size": "large", "quantity": 2}, {"item": "tea"}],
}


def settings_for(**overrides: object) -> OrderApiSettings:
    return OrderApiSettings.model_validate(
        {"broker_url": ENVIRON["BARISTA_BROKER_URL"], "ledger_url": ENVIRON["BARISTA_LEDGER_URL"]}
        | overrides
    )


@pytest.fixture
def settings() -> OrderApiSettings:
    return settings_for(broker_timeout=0.5)


@pytest.fixture
def broker(settings: OrderApiSettings) -> Iterator[RecordingBroker]:
    fake = RecordingBroker()
    declare_orders(
        fake,
        settings.orders_queue,
        settings.dead_letter_queue,
        settings.max_receive_count,
        settings.visibility_timeout,
    )
    yield fake
    fake.recover()  # release any thread a test left hanging


@pytest.fixture
def ledger() -> Iterator[FakeLedger]:
    fake = FakeLedger()
    yield fake
    fake.recover()


@pytest.fixture
def client(broker: RecordingBroker, ledger: FakeLedger, settings: OrderApiSettings) -> TestClient:
    return TestClient(create_app(broker, ledger, settings))


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rejected(reason: str) -> float:
    return metric("barista_orders_rejected_total", reason=reason)


def post_json(client: TestClient, body: str | bytes) -> object:
    return client.post("/orders", content=body, headers={"content-type": "application/json"})


# A valid order


def test_a_valid_order_is_sent_once_announced_once_recorded_and_answered_202(
    client, broker, ledger, settings
):
    accepted_before = metric("barista_orders_accepted_total")

    response = client.post("/orders", json=ORDER)

    assert response.status_code == 202
    order_id = response.json()["order_id"]
    assert response.json() == {"order_id": order_id, "status": "accepted"}
    assert response.headers["location"] == f"/orders/{order_id}"

    [sent] = broker.sent
    assert sent.destination == settings.orders_queue
    order = Order.model_validate_json(sent.message.body)
    assert order.order_id == order_id
    assert order.model_dump(include={"customer", "items"}, mode="json") == {
        "customer": ORDER["customer"],
        "items": [
            {"item": "flat-white", "size": "large", "quantity": 2},
            {"item": "tea", "size": "medium", "quantity": 1},
        ],
    }
    assert sent.message.group_id == "table-4"
    assert sent.message.trace_id == order_id
    assert sent.message.headers == {"content-type": "application/json"}

    [published] = broker.published
    assert published.destination == settings.events_topic
    event = OrderEvent.model_validate_json(published.message.body)
    assert event.kind is EventKind.PLACED
    assert (event.order_id, event.customer_id, event.cups) == (order_id, "table-4", 3)
    assert event.accepted_at == order.accepted_at
    assert published.message.trace_id == order_id

    assert ledger.states == {order_id: OrderState.ACCEPTED}
    assert metric("barista_orders_accepted_total") == accepted_before + 1


def test_content_type_parameters_are_allowed(client, broker):
    response = client.post(
        "/orders",
        content=json.dumps(ORDER),
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert response.status_code == 202
    assert len(broker.sent) == 1


def test_the_order_state_is_read_back_from_the_ledger(client, ledger):
    order_id = client.post("/orders", json=ORDER).json()["order_id"]
    assert client.get(f"/orders/{order_id}").json() == {"order_id": order_id, "state": "accepted"}

    ledger.brewed(order_id)
    assert client.get(f"/orders/{order_id}").json()["state"] == "brewed"

    missing = client.get("/orders/no-such-order")
    assert missing.status_code == 404
    assert missing.json() == {"error": "unknown order", "order_id": "no-such-order"}


def test_an_accepted_order_logs_one_line_with_its_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="services.order_api"):
        order_id = client.post("/orders", json=ORDER).json()["order_id"]
    [line] = [r for r in caplog.records if r.name == "services.order_api"]
    assert line.getMessage() == "order accepted"
    assert line.levelno == logging.INFO
    assert (
        vars(line).items()
        >= {
            "order_id": order_id,
            "outcome": "accepted",
            "ledger": "ok",
            "event": "ok",
            "cups": 3,
        }.items()
    )


# Refused before anything is sent


def test_malformed_json_is_400_with_the_parser_position(client, broker, ledger):
    before = rejected("malformed")
    response = post_json(client, b'{"customer": ')
    assert response.status_code == 400
    assert response.json()["error"] == "malformed JSON"
    assert "line 1 column" in response.json()["detail"]
    assert broker.sent == broker.published == []
    assert ledger.states == {}
    assert rejected("malformed") == before + 1


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b'{"a": 1} trailing'])
def test_empty_undecodable_and_trailing_garbage_bodies_are_malformed(client, broker, body):
    response = post_json(client, body)
    assert response.status_code == 400
    assert broker.sent == []


def test_an_invalid_order_is_422_with_one_reason_per_dotted_field(client, broker, ledger):
    before = rejected("invalid")
    body = {
        "customer": {"id": "table 4", "name": "Ada"},
        "items": [{"item": "soup", "quantity": 0, "milk": "oat"}, {"item": "latte", "quantity": 9}],
        "tip": 2,
    }
    response = client.post("/orders", json=body)

    assert response.status_code == 422
    assert response.json()["error"] == "invalid order"
    reasons = {entry["field"]: entry["reason"] for entry in response.json()["fields"]}
    assert set(reasons) == {
        "customer.id",
        "items.0.item",
        "items.0.quantity",
        "items.0.milk",
        "items.1.quantity",
        "tip",
    }
    assert "pattern" in reasons["customer.id"]
    assert "'espresso'" in reasons["items.0.item"]
    assert "greater than or equal to 1" in reasons["items.0.quantity"]
    assert "less than or equal to 6" in reasons["items.1.quantity"]
    assert reasons["tip"] == "Extra inputs are not permitted"
    assert len(response.json()["fields"]) == len(reasons)  # one entry per field
    assert broker.sent == broker.published == []
    assert ledger.states == {}
    assert rejected("invalid") == before + 1


def test_missing_fields_and_a_non_object_body_are_named(client, broker):
    missing = client.post("/orders", json={"items": []}).json()["fields"]
    assert {entry["field"]: entry["reason"] for entry in missing} == {
        "customer": "Field required",
        "items": "List should have at least 1 item after validation, not 0",
    }
    assert client.post("/orders", json=[ORDER]).json()["fields"] == [
        {"field": "$", "reason": "Input should be an object"}
    ]
    assert broker.sent == []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_415(client, broker, content_type):
    before = rejected("unsupported-media-type")
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/orders", content=json.dumps(ORDER), headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported media type"
    assert broker.sent == broker.published == []
    assert rejected("unsupported-media-type") == before + 1


def test_a_body_over_64_kib_is_413_whether_its_length_is_declared_or_streamed(client, broker):
    before = rejected("too-large")
    padding = {**ORDER, "customer": {"id": "x", "name": "y" * MAX_BODY_BYTES}}
    body = json.dumps(padding).encode()

    declared = post_json(client, body)
    streamed = client.post(
        "/orders",
        content=(body[i : i + 4096] for i in range(0, len(body), 4096)),
        headers={"content-type": "application/json"},
    )

    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["error"] == "order too large"
    assert broker.sent == broker.published == []
    assert rejected("too-large") == before + 2


def test_a_body_of_exactly_64_kib_is_read_and_judged_on_its_content(client):
    body = json.dumps(ORDER).encode()
    body += b" " * (MAX_BODY_BYTES - len(body))
    assert post_json(client, body).status_code == 202


# The broker does not confirm


def test_an_unconfirmed_send_is_503_with_retry_after_and_nothing_recorded(
    client, broker, ledger, caplog
):
    before = rejected("unavailable")
    broker.fail("send")

    with caplog.at_level(logging.INFO, logger="services.order_api"):
        response = client.post("/orders", json=ORDER)

    assert response.status_code == 503
    assert response.json() == {"error": "broker unavailable"}
    assert int(response.headers["retry-after"]) > 0
    assert broker.sent == broker.published == []
    assert ledger.states == {}
    assert rejected("unavailable") == before + 1
    [line] = [r for r in caplog.records if r.name == "services.order_api"]
    assert (line.getMessage(), line.levelno, line.reason) == (
        "order rejected",
        logging.WARNING,
        "unavailable",
    )
    assert line.order_id  # the id it would have had: ties the line to the broker's own logs


def test_a_send_that_hangs_is_503_once_broker_timeout_has_passed(client, broker, ledger, settings):
    broker.block("send")

    started = time.monotonic()
    response = client.post("/orders", json=ORDER)
    waited = time.monotonic() - started

    assert response.status_code == 503
    assert settings.broker_timeout <= waited < settings.broker_timeout + 1.0
    assert broker.published == []
    assert ledger.states == {}


def test_an_unexpected_send_error_is_a_500_never_a_2xx(client, broker, ledger):
    broker.fail("send", RuntimeError("adapter bug"))
    response = client.post("/orders", json=ORDER)
    assert response.status_code == 500
    assert broker.published == []
    assert ledger.states == {}


def test_the_broker_serves_again_after_it_recovers(client, broker):
    broker.fail("send", times=1)
    assert client.post("/orders", json=ORDER).status_code == 503
    assert client.post("/orders", json=ORDER).status_code == 202
    assert len(broker.sent) == 1


# Retries under an Idempotency-Key


def test_a_retry_with_the_same_idempotency_key_is_the_same_order(client, broker, ledger):
    key = {"Idempotency-Key": "table-4/order-1"}
    broker.fail("send", times=1)
    refused = client.post("/orders", json=ORDER, headers=key)
    assert refused.status_code == 503
    first = client.post("/orders", json=ORDER, headers=key)
    again = client.post("/orders", json=ORDER, headers=key)
    assert first.status_code == again.status_code == 202
    order_id = first.json()["order_id"]
    assert again.json()["order_id"] == order_id
    # Not brewed yet: a retry is sent again (a send may not have been confirmed), same id.
    assert [Order.model_validate_json(s.message.body).order_id for s in broker.sent] == [
        order_id,
        order_id,
    ]
    assert ledger.states == {order_id: OrderState.ACCEPTED}
    other = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "table-4/order-2"})
    assert other.json()["order_id"] != order_id


def test_a_retry_of_a_brewed_order_is_answered_without_sending_it_again(client, broker, ledger):
    key = {"Idempotency-Key": "k-1"}
    order_id = client.post("/orders", json=ORDER, headers=key).json()["order_id"]
    ledger.brewed(order_id)
    sent = len(broker.sent)
    retry = client.post("/orders", json=ORDER, headers=key)
    assert (retry.status_code, retry.json()["order_id"]) == (202, order_id)
    assert len(broker.sent) == sent
    assert ledger.states[order_id] is OrderState.BREWED


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve".encode("latin-1")])
def test_an_idempotency_key_must_be_1_to_255_visible_ascii_characters(client, broker, key):
    response = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid Idempotency-Key"
    assert broker.sent == []


# The send was confirmed; a follow-up step fails


def follow_up_failures(step: str) -> float:
    return metric("barista_order_follow_up_failures_total", step=step)


def test_a_failed_event_publish_still_answers_202_and_records_the_order(
    client, broker, ledger, caplog
):
    before = follow_up_failures("event")
    broker.fail("publish")

    with caplog.at_level(logging.INFO, logger="services.order_api"):
        response = client.post("/orders", json=ORDER)

    assert response.status_code == 202
    order_id = response.json()["order_id"]
    assert len(broker.sent) == 1
    assert broker.published == []
    assert ledger.states == {order_id: OrderState.ACCEPTED}
    assert follow_up_failures("event") == before + 1
    [line] = [r for r in caplog.records if r.name == "services.order_api"]
    assert line.levelno == logging.WARNING
    assert line.order_id == order_id
    assert line.event.startswith("failed: BrokerUnavailable")
    assert line.ledger == "ok"


def test_a_failed_ledger_write_is_503_and_nothing_is_sent(client, broker, ledger):
    before = rejected("unavailable")
    ledger.fail("accepted")

    response = client.post("/orders", json=ORDER)

    assert response.status_code == 503
    assert response.json() == {"error": "ledger unavailable"}
    assert int(response.headers["retry-after"]) > 0
    assert broker.sent == broker.published == []
    assert rejected("unavailable") == before + 1


def test_a_hung_ledger_write_is_503_within_its_timeout_and_nothing_is_sent(client, broker, ledger):
    ledger.block("accepted")
    started = time.monotonic()
    response = client.post("/orders", json=ORDER)
    assert response.status_code == 503
    assert time.monotonic() - started < order_api.app.LEDGER_TIMEOUT + 1.0
    assert broker.sent == []


def test_the_ledger_holds_the_order_before_the_broker_confirms_it(client, broker, ledger):
    seen: list[dict[str, OrderState]] = []
    send = broker.send_batch

    def send_and_look(queue, messages):
        seen.append(dict(ledger.states))
        return send(queue, messages)

    broker.send_batch = send_and_look
    response = client.post("/orders", json=ORDER)
    assert response.status_code == 202
    assert seen == [{response.json()["order_id"]: OrderState.ACCEPTED}]


def test_a_ledger_that_cannot_withdraw_still_gets_a_503_for_an_unconfirmed_send(
    client, broker, ledger
):
    broker.fail("send")
    ledger.fail("withdrawn")
    response = client.post("/orders", json=ORDER)
    assert response.status_code == 503
    assert list(ledger.states.values()) == [OrderState.ACCEPTED]


def test_a_hung_publish_delays_the_202_by_at_most_broker_timeout(client, broker, settings):
    broker.block("publish")
    started = time.monotonic()
    response = client.post("/orders", json=ORDER)
    assert response.status_code == 202
    assert time.monotonic() - started < settings.broker_timeout + 1.0


# Health, readiness, metrics, menu


def test_healthz_is_200_even_when_the_broker_is_down(client, broker):
    broker.fail("backlog")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["service"] == "order-api"


def test_readyz_is_200_when_broker_and_ledger_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "failed": [],
        "checks": {"broker": "ok", "ledger": "ok"},
    }


def test_readyz_is_503_naming_the_broker_when_it_fails(client, broker):
    broker.fail("backlog")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert response.json()["checks"]["broker"].startswith("BrokerUnavailable")
    assert response.json()["checks"]["ledger"] == "ok"


def test_readyz_is_503_naming_the_ledger_when_it_fails(client, ledger):
    ledger.fail("ping")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["ledger"]


def test_readyz_answers_in_time_when_the_broker_hangs(client, broker, settings):
    broker.block("backlog")
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == f"no answer within {settings.broker_timeout:g} s"
    assert time.monotonic() - started < settings.broker_timeout + 1.0


def test_metrics_are_exposed_for_prometheus(client):
    client.post("/orders", json=ORDER)
    text = client.get("/metrics/").text
    assert "barista_orders_accepted_total" in text
    assert 'barista_order_api_request_seconds_count{status="202"}' in text


def test_the_menu_lists_what_can_be_ordered(client):
    menu = client.get("/menu").json()
    assert "flat-white" in menu["items"]
    assert menu["sizes"] == ["small", "medium", "large"]


# Settings and startup


def test_settings_default_to_the_shop_s_queue_topic_and_policy():
    settings = load(OrderApiSettings, ENVIRON)
    assert settings.orders_queue == "orders"
    assert settings.dead_letter_queue == "orders-dlq"
    assert settings.events_topic == "order-events"
    assert (settings.max_receive_count, settings.visibility_timeout) == (5, 30.0)
    assert (settings.broker_timeout, settings.port) == (5.0, 8080)
    assert settings.ledger_namespace == "barista:ledger"


def test_settings_errors_name_every_variable_to_fix():
    environ = {
        "BARISTA_BROKER_URL": "rabbit://host",
        "BARISTA_MAX_RECEIVE_COUNT": "0",
        "BARISTA_VISIBILITY_TIMEOUT": "50000",
        "BARISTA_BROKER_TIMEOUT": "soon",
    }
    with pytest.raises(SettingsError) as raised:
        load(OrderApiSettings, environ)
    message = str(raised.value)
    for variable in (
        "BARISTA_BROKER_URL",
        "BARISTA_LEDGER_URL",
        "BARISTA_MAX_RECEIVE_COUNT",
        "BARISTA_VISIBILITY_TIMEOUT",
        "BARISTA_BROKER_TIMEOUT",
    ):
        assert variable in message
    assert "must start with one of kafka://, amqp://, redis://" in message


def test_the_ledger_url_must_be_redis():
    with pytest.raises(SettingsError, match=r"BARISTA_LEDGER_URL: .*Redis URL"):
        load(OrderApiSettings, ENVIRON | {"BARISTA_LEDGER_URL": "amqp://host"})


def test_main_prints_bad_settings_and_exits_2(capsys):
    assert main({"BARISTA_PORT": "http"}) == 2
    err = capsys.readouterr().err
    assert "BARISTA_BROKER_URL" in err
    assert "BARISTA_LEDGER_URL" in err
    assert "BARISTA_PORT" in err


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """main installs SIGTERM/SIGINT handlers; give pytest its own back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_main_declares_the_orders_queue_serves_and_closes_the_broker(monkeypatch, signal_handlers):
    broker, ledger = RecordingBroker(), FakeLedger()
    opened: list[tuple[str, float]] = []
    served: dict[str, object] = {}

    def fake_open(url: str, timeout: float) -> RecordingBroker:
        opened.append((url, timeout))
        return broker

    monkeypatch.setattr(order_api, "open_broker", fake_open)
    monkeypatch.setattr(order_api.Ledger, "from_url", lambda url, namespace: ledger)
    monkeypatch.setattr(order_api.logs, "configure", lambda service: None)
    monkeypatch.setattr(order_api.uvicorn, "run", lambda app, **options: served.update(options))

    environ = ENVIRON | {"BARISTA_PORT": "9090", "BARISTA_BROKER_TIMEOUT": "2.5"}
    assert main(environ) == 0

    assert opened == [(ENVIRON["BARISTA_BROKER_URL"], 2.5)]
    assert broker.peer().describe_queue("orders") == QueueConfig(
        visibility_timeout=30.0, redrive_policy=RedrivePolicy("orders-dlq", 5)
    )
    assert broker.peer().describe_queue("orders-dlq") is not None
    assert served["port"] == 9090
    assert (served["loop"], served["http"]) == ("uvloop", "httptools")
    assert broker.closed


def test_a_sigterm_during_startup_stops_main_before_it_serves(monkeypatch, signal_handlers):
    broker = RecordingBroker()

    def open_then_get_stopped(url: str, timeout: float) -> RecordingBroker:
        signal.raise_signal(signal.SIGTERM)  # docker stop while the broker was connecting
        return broker

    served: list[object] = []
    monkeypatch.setattr(order_api, "open_broker", open_then_get_stopped)
    monkeypatch.setattr(order_api.logs, "configure", lambda service: None)
    monkeypatch.setattr(order_api.uvicorn, "run", lambda app, **options: served.append(app))

    assert main(ENVIRON) == 0
    assert served == []
    assert broker.closed


def test_main_exits_1_when_the_broker_cannot_be_declared_at_start(monkeypatch, signal_handlers):
    broker = RecordingBroker()
    broker.fail("declare_queue")
    monkeypatch.setattr(order_api, "open_broker", lambda url, timeout: broker)
    monkeypatch.setattr(order_api.logs, "configure", lambda service: None)
    assert main(ENVIRON) == 1
    assert broker.closed


# Blocking calls: a deadline each, and a cap on threads left running


def test_abandoned_sends_are_capped_and_further_orders_refused_at_once(broker, ledger, settings):
    client = TestClient(create_app(broker, ledger, settings, max_running_calls=1))
    gate = broker.block("send")

    assert client.post("/orders", json=ORDER).status_code == 503  # waited broker_timeout
    started = time.monotonic()
    refused = client.post("/orders", json=ORDER)  # the first send's thread still holds the slot
    assert refused.status_code == 503
    assert time.monotonic() - started < settings.broker_timeout / 2
    assert client.get("/readyz").status_code == 503

    broker.recover("send")
    gate.set()
    assert wait_until(lambda: client.post("/orders", json=ORDER).status_code == 202)


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_blocking_calls_release_their_slot_however_the_call_ends():
    calls = BlockingCalls(limit=2)
    gate = threading.Event()

    async def scenario() -> None:
        assert await calls.run(1.0, lambda: "done") == "done"
        with pytest.raises(ZeroDivisionError):
            await calls.run(1.0, lambda: 1 / 0)
        with pytest.raises(TimeoutError):
            await calls.run(0.05, lambda: gate.wait(5))
        assert calls.running == 1  # abandoned, still running
        with pytest.raises(TimeoutError):
            await calls.run(0.05, lambda: gate.wait(5))
        with pytest.raises(Saturated):
            await calls.run(1.0, lambda: "refused")
        gate.set()

    anyio.run(scenario)
    assert wait_until(lambda: calls.running == 0)


def test_a_call_given_up_before_its_thread_starts_never_runs_and_frees_its_slot():
    calls = BlockingCalls(limit=5)
    ran = threading.Event()

    async def scenario() -> None:
        # Every worker-thread token is held elsewhere, so the call cannot start in time.
        limiter = anyio.to_thread.current_default_thread_limiter()
        saved, limiter.total_tokens = limiter.total_tokens, 1
        release = anyio.Event()

        async def hold_the_only_token() -> None:
            async with limiter:
                await release.wait()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(hold_the_only_token)
                await anyio.sleep(0.01)
                with pytest.raises(TimeoutError):
                    await calls.run(0.05, ran.set)
                release.set()
        finally:
            limiter.total_tokens = saved

    anyio.run(scenario)
    time.sleep(0.1)
    assert not ran.is_set()
    assert calls.running == 0
