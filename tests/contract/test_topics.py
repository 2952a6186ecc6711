"""SNS-like topics: fan-out, durable and fire-and-forget subscriptions."""

from __future__ import annotations

from broker_adapters import Broker, OutgoingMessage
from tests.contract.conftest import require
from tests.support.receiving import receive_count, receive_until


def test_every_subscription_receives_every_message(broker: Broker, unique_name: str):
    subscriptions = [broker.subscribe(unique_name, f"display-{n}") for n in range(3)]
    sent = [broker.publish(unique_name, f"order {n}".encode()) for n in range(10)]
    for subscription in subscriptions:
        got = receive_count(lambda s=subscription: s.receive(10, wait=1), len(sent))
        assert sorted(d.message.id for d in got) == sorted(sent), subscription.name
        assert {d.message.body for d in got} == {f"order {n}".encode() for n in range(10)}


def test_publish_batch_is_fanned_out_like_single_publishes(broker: Broker, unique_name: str):
    first = broker.subscribe(unique_name, "kitchen")
    second = broker.subscribe(unique_name, "loyalty")
    ids = broker.publish_batch(unique_name, [OutgoingMessage(f"{n}".encode()) for n in range(25)])
    assert len(set(ids)) == 25
    for subscription in (first, second):
        got = receive_count(lambda s=subscription: s.receive(10, wait=1), 25)
        assert sorted(d.message.id for d in got) == sorted(ids)


def test_a_subscription_does_not_receive_what_was_published_before_it_existed(
    broker: Broker, unique_name: str
):
    broker.subscribe(unique_name, "early")  # the topic exists and has a subscriber
    broker.publish(unique_name, b"before")
    late = broker.subscribe(unique_name, "late")
    after = broker.publish(unique_name, b"after")
    got = receive_until(lambda: late.receive(10, wait=1), lambda got: len(got) >= 1, timeout=10)
    assert [d.message.id for d in got] == [after]
    assert late.receive(10, wait=1) == []


def test_durable_subscription_keeps_messages_while_its_subscriber_is_away(
    broker: Broker, unique_name: str
):
    require(broker, "durable_subscriptions")
    broker.subscribe(unique_name, "loyalty").close()
    sent = [broker.publish(unique_name, f"while away {n}".encode()) for n in range(5)]
    back = broker.subscribe(unique_name, "loyalty")
    got = receive_count(lambda: back.receive(10, wait=1), len(sent))
    assert sorted(d.message.id for d in got) == sorted(sent)


def test_fire_and_forget_subscription_misses_what_is_published_while_away(
    broker: Broker, unique_name: str
):
    require(broker, "fire_and_forget_subscriptions")
    broker.subscribe(unique_name, "notifier", durable=False).close()
    for n in range(5):
        broker.publish(unique_name, f"while away {n}".encode())
    back = broker.subscribe(unique_name, "notifier", durable=False)
    marker = broker.publish(unique_name, b"marker")
    got = receive_until(lambda: back.receive(10, wait=1), lambda got: len(got) >= 1, timeout=10)
    assert [d.message.id for d in got] == [marker]
    assert back.receive(10, wait=1) == []


def test_fire_and_forget_subscription_receives_while_connected(broker: Broker, unique_name: str):
    require(broker, "fire_and_forget_subscriptions")
    live = broker.subscribe(unique_name, "notifier", durable=False)
    sent = [broker.publish(unique_name, f"live {n}".encode()) for n in range(5)]
    got = receive_count(lambda: live.receive(10, wait=1), len(sent), timeout=10)
    assert sorted(d.message.id for d in got) == sorted(sent)


def test_message_headers_travel_with_the_message(broker: Broker, unique_name: str):
    subscription = broker.subscribe(unique_name, "kitchen")
    sent = broker.publish(
        unique_name, b"{}", headers={"content-type": "application/json"}, trace_id="trace-1"
    )
    [delivery] = receive_count(lambda: subscription.receive(1, wait=1), 1)
    message = delivery.message
    assert (message.id, message.trace_id, message.attempt) == (sent, "trace-1", 1)
    assert message.headers["content-type"] == "application/json"
    assert message.timestamp > 0
