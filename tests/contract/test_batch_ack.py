"""ack_batch: several deliveries settled at once (SQS's DeleteMessageBatch), each once."""

from __future__ import annotations

from collections.abc import Callable

from broker_adapters import Broker, Outcome, QueueConfig, ack_batch
from tests.support.receiving import receive_count


def test_ack_batch_settles_each_delivery_once_and_leaves_the_others_in_the_queue(
    connect_broker: Callable[[], Broker], unique_name: str
):
    holder = connect_broker()
    holder.declare_queue(unique_name, QueueConfig(visibility_timeout=60))
    sent = [holder.send(unique_name, f"order {n}".encode()) for n in range(5)]
    deliveries = receive_count(lambda: holder.receive(unique_name, 5, wait=2), 5, ack=False)
    assert sorted(d.message.id for d in deliveries) == sorted(sent)
    first, second, third, fourth, left = deliveries

    assert first.ack() is True
    # Already settled, three pending, and one of them named twice.
    assert ack_batch([first, second, third, fourth, second]) == [False, True, True, True, False]
    assert [d.outcome for d in deliveries] == [Outcome.ACKED] * 4 + [Outcome.PENDING]
    assert ack_batch([]) == []

    # Closing hands back what is unsettled: only the fifth message is still in the queue.
    holder.close()
    other = connect_broker()
    other.declare_queue(unique_name, QueueConfig(visibility_timeout=60))
    [again] = receive_count(lambda: other.receive(unique_name, 10, wait=2), 1)
    assert again.message.id == left.message.id
    assert other.receive(unique_name, 10, wait=1) == []
