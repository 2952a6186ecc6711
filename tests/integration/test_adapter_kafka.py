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


def test_a_monitor_measures_a_consumer_group_queue_by_its_committed_offsets(
    kafka: Endpoint, unique_name: str
):
    """A process that never declared the queue (the scaling loop's) must not take the
    consumer group for a share group: Kafka 4.4 answers DescribeShareGroupOffsets for a
    consumer group's id with every partition unstarted, which read as a share group would count
    the whole topic forever (and a drained queue would never scale in)."""
    with connect(kafka.url) as worker, connect(kafka.url) as monitor:
        worker.declare_queue(unique_name)
        for n in range(5):
            worker.send(unique_name, f"order {n}".encode())
        assert wait_for(lambda: monitor.backlog(unique_name).total == 5, timeout=30)
        taken: list[object] = []
        deadline_ok = wait_for(
            lambda: (
                taken.extend(d for d in worker.receive(unique_name, 5, wait=1) if d.ack())
                or len(taken) == 5
            ),
            timeout=60,
        )
        assert deadline_ok, f"received {len(taken)} of 5"
        assert wait_for(lambda: monitor.backlog(unique_name).total == 0, timeout=30), (
            monitor.backlog(unique_name)
        )
