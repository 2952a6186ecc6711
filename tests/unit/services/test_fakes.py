"""The test doubles: RecordingBroker is memory:// (the contract suite's rules) plus records and
faults; FakeLedger keeps the ledger's rules."""

from __future__ import annotations

import threading

import pytest
import redis

from broker_adapters import BrokerUnavailable, Outcome, QueueConfig, QueueNotDeclared, RedrivePolicy
from broker_adapters.core import DEAD_LETTER_REASON, DEAD_LETTER_SOURCE
from services.ledger import OrderState
from tests.unit.services.fakes import FakeLedger, RecordingBroker


@pytest.fixture
def broker() -> RecordingBroker:
    fake = RecordingBroker()
    fake.declare_queue("q-dlq")
    fake.declare_queue("q", QueueConfig(redrive_policy=RedrivePolicy("q-dlq", 2)))
    return fake


def test_a_queue_hands_each_message_out_once_until_acked(broker):
    broker.send("q", b"one", group_id="g", trace_id="t")
    [delivery] = broker.receive("q", max_messages=10)
    assert broker.receive("q") == []
    assert broker.backlog("q").in_flight == 1
    assert delivery.ack() is True
    assert delivery.ack() is False
    assert broker.backlog("q").total == 0
    assert (delivery.message.group_id, delivery.message.trace_id) == ("g", "t")
    assert broker.bodies("q") == [b"one"]


def test_nacks_count_attempts_and_dead_letter_at_max_receive_count(broker):
    broker.send("q", b"poison")
    first = broker.receive("q")[0]
    assert first.nack(reason="burnt") is True
    second = broker.receive("q")[0]
    assert second.message.attempt == 2
    second.nack(reason="burnt again")
    assert second.outcome is Outcome.DEAD_LETTERED
    [dead] = broker.receive("q-dlq")
    assert dead.message.headers[DEAD_LETTER_REASON] == "burnt again"
    assert dead.message.headers[DEAD_LETTER_SOURCE] == "q"


def test_every_subscription_gets_every_publish_made_after_it_joined(broker):
    broker.publish("events", b"before")
    kitchen = broker.subscribe("events", "kitchen")
    loyalty = broker.subscribe("events", "loyalty")
    broker.publish("events", b"after")
    assert [d.message.body for d in kitchen.receive(10)] == [b"after"]
    assert [d.message.body for d in loyalty.receive(10)] == [b"after"]
    assert [sent.message.body for sent in broker.published] == [b"before", b"after"]


def test_failures_are_opt_in_counted_and_record_nothing(broker):
    broker.fail("send", times=1)
    with pytest.raises(BrokerUnavailable):
        broker.send("q", b"lost")
    broker.send("q", b"kept")
    assert broker.bodies("q") == [b"kept"]
    with pytest.raises(QueueNotDeclared):
        broker.send("undeclared", b"x")


def test_a_blocked_operation_waits_for_its_gate(broker):
    gate = broker.block("publish")
    done = threading.Event()
    threading.Thread(target=lambda: (broker.publish("t", b"x"), done.set())).start()
    assert not done.wait(0.1)
    broker.recover()
    assert gate.is_set()
    assert done.wait(2)


def test_the_fake_ledger_keeps_the_ledger_s_rules():
    ledger = FakeLedger()
    ledger.brewed("o-1")
    ledger.accepted("o-1")  # a late accepted never overwrites a later state
    assert ledger.state("o-1") is OrderState.BREWED
    ledger.fail("ping")
    with pytest.raises(redis.ConnectionError):  # what redis-py raises when Redis is down
        ledger.ping()
