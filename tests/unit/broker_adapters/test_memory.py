"""What the memory backend adds to the contract (which tests/contract runs on it): a URL names
a store that every broker of this process with that name shares, and nothing else."""

from __future__ import annotations

import uuid

import pytest

from broker_adapters import BrokerError, QueueNotDeclared, connect
from broker_adapters.memory import MemoryBroker, MemoryConfig


def fresh_url() -> str:
    return f"memory://unit-{uuid.uuid4().hex[:8]}"


def test_brokers_of_one_name_share_queues_and_other_names_do_not():
    url = fresh_url()
    producer, consumer, elsewhere = connect(url), connect(url), connect(fresh_url())
    for broker in (producer, consumer, elsewhere):
        broker.declare_queue("orders")
    sent = producer.send("orders", b"flat white")
    assert elsewhere.backlog("orders").total == 0
    [delivery] = consumer.receive("orders", 10)
    assert delivery.message.id == sent
    with pytest.raises(QueueNotDeclared):
        elsewhere.backlog("missing")


def test_the_url_query_and_options_set_the_config_and_unknown_ones_are_refused():
    broker = connect(f"{fresh_url()}?subscription_visibility_timeout=5")
    assert isinstance(broker, MemoryBroker)
    assert broker.config == MemoryConfig(subscription_visibility_timeout=5.0)
    with pytest.raises(TypeError, match=r"\[.retries.\]; known options are"):
        connect(fresh_url(), retries=3)
    with pytest.raises(ValueError, match="subscription_visibility_timeout"):
        MemoryConfig(subscription_visibility_timeout=0)


def test_a_closed_broker_refuses_calls_and_its_held_messages_go_back():
    url = fresh_url()
    holder, other = connect(url), connect(url)
    for broker in (holder, other):
        broker.declare_queue("orders")
    holder.send("orders", b"left on the counter")
    [held] = holder.receive("orders")
    holder.close()
    holder.close()  # idempotent
    with pytest.raises(BrokerError, match="closed"):
        holder.send("orders", b"x")
    [again] = other.receive("orders")
    assert (again.message.id, again.message.attempt) == (held.message.id, 2)
    assert held.ack() is True, "the first settlement of a delivery wins, stale or not"
    assert other.backlog("orders").in_flight == 1, "a stale ack leaves the new holder's message"
