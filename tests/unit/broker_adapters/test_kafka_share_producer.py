"""A share-group queue's records go through a producer whose batches hold at most
``KafkaConfig.share_batch_records`` (a share fetch acquires whole producer batches); every other
topic's through the freely batching one. No broker: librdkafka connects lazily."""

from __future__ import annotations

from typing import Any

import pytest

from broker_adapters.kafka import broker as kafka_broker
from broker_adapters.kafka.broker import CONSUMER_GROUP, SHARE_GROUP, KafkaBroker, KafkaConfig


class RecordingProducer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config


def test_share_group_queues_get_a_producer_with_small_batches(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kafka_broker, "Producer", RecordingProducer)
    broker = KafkaBroker({"bootstrap.servers": "127.0.0.1:1"}, KafkaConfig(share_batch_records=7))
    broker._modes.update({"orders": SHARE_GROUP, "audit": CONSUMER_GROUP})
    share = broker._producer_instance("orders")
    plain = broker._producer_instance("audit")
    assert share is not plain
    assert share.config["batch.num.messages"] == 7  # type: ignore[attr-defined]
    assert "batch.num.messages" not in plain.config  # type: ignore[attr-defined]
    assert broker._producer_instance("a-topic") is plain
    assert broker._producer_instance("orders") is share
    for producer in (share, plain):
        assert producer.config["enable.idempotence"] is True  # type: ignore[attr-defined]
        assert producer.config["acks"] == "all"  # type: ignore[attr-defined]
