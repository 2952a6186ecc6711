"""A consumer that takes messages and never acks them; the crash experiment SIGKILLs it.

    BARISTA_COMPARE_URL=… python -m orchestrator.compare.crash_consumer QUEUE COUNT VISIBILITY

The URL comes from the environment so its password never shows in a process list. Prints one
JSON line with the ids it holds once it holds ``COUNT`` messages (or an empty list after
30 s), then blocks until it is killed: on Kafka its librdkafka thread keeps heartbeating, as
a consumer stuck in a long task would.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from broker_adapters import Delivery, QueueConfig
from orchestrator.compare.opening import open_broker

URL_VARIABLE = "BARISTA_COMPARE_URL"
HOLD_TIMEOUT = 30.0


def main(argv: list[str]) -> int:
    """Hold ``COUNT`` messages of ``QUEUE`` unacked, report their ids, wait to be killed."""
    queue, count, visibility = argv[0], int(argv[1]), float(argv[2])
    broker = open_broker(os.environ[URL_VARIABLE])
    broker.declare_queue(queue, QueueConfig(visibility_timeout=visibility))
    held: list[Delivery] = []
    deadline = time.monotonic() + HOLD_TIMEOUT
    while len(held) < count and time.monotonic() < deadline:
        held.extend(broker.receive(queue, min(10, count - len(held)), wait=1))
    print(json.dumps([delivery.message.id for delivery in held]), flush=True)
    threading.Event().wait()
    return 0  # never reached: the process is killed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
