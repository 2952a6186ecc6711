"""A consumer that takes messages and never acks them: the contract suite SIGKILLs it.

    python -m tests.contract.crash_consumer URL QUEUE COUNT VISIBILITY_TIMEOUT

Prints one JSON line with the ids it holds once it holds ``COUNT`` messages, then blocks
until it is killed (librdkafka's background thread keeps a Kafka member in its group).
"""

from __future__ import annotations

import json
import sys
import threading
import time

from broker_adapters import QueueConfig, connect


def main() -> None:
    url, queue, count, visibility = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    broker = connect(url)
    broker.declare_queue(queue, QueueConfig(visibility_timeout=visibility))
    held = []
    deadline = time.monotonic() + 60
    while len(held) < count and time.monotonic() < deadline:
        held.extend(broker.receive(queue, min(10, count - len(held)), wait=1))
    print(json.dumps([delivery.message.id for delivery in held]), flush=True)
    # Stay connected (and, on Kafka, in the group) without acking anything until killed.
    threading.Event().wait()


if __name__ == "__main__":
    main()
