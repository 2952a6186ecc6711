"""Kafka-only facts of the adapter that the contract suite cannot state for every backend."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from broker_adapters import QueueNotDeclared, connect
from tests.support.brokers import Endpoint, kafka_config
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker


def test_measuring_a_missing_queue_does_not_create_its_topic(kafka: Endpoint, unique_name: str):
    """The broker auto-creates topics on a metadata request for one topic; a monitor asking for
    a backlog before the workers declared their queue must not create it with the broker's
    default partitions (one), which would cap the queue at one consumer."""
    admin = AdminClient(kafka_config(kafka.port, kafka.credentials))
    with connect(kafka.url) as monitor:
        for _ in range(3):
            with pytest.raises(QueueNotDeclared):
                monitor.backlog(unique_name)
    # Auto-creation would show within a second or two; watch a bounded window for it.
    appeared = wait_for(
        lambda: unique_name in admin.list_topics(timeout=5).topics, timeout=3, interval=0.2
    )
    assert not appeared, "backlog() created the topic"
