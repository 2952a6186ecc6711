"""Experiment 4: redelivery of messages held by a consumer that crashed (SIGKILL).

A separate process receives the messages and never acks; it is killed, and a new consumer
measures when the messages come back and what attempt count they carry. SQS makes them
visible again after the visibility timeout, with ApproximateReceiveCount raised.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from broker_adapters import Broker, OutgoingMessage, QueueConfig
from orchestrator.compare.consumers import ARRIVAL_TIMEOUT
from orchestrator.compare.crash_consumer import URL_VARIABLE
from orchestrator.compare.names import fresh
from orchestrator.compare.observations import CrashRedelivery
from orchestrator.compare.opening import open_broker

HELD = 3
# Short, so the backends that honour it (Features.visibility_timeout) redeliver quickly.
VISIBILITY_TIMEOUT = 2.0
# Kafka needs the dead member's session to expire (10 s) before a rebalance hands it on.
REDELIVERY_TIMEOUT = 45.0


def run(url: str, broker: Broker) -> CrashRedelivery:
    """Let a child process take ``HELD`` messages, SIGKILL it, and time their return."""
    queue = fresh("crash")
    config = QueueConfig(visibility_timeout=VISIBILITY_TIMEOUT)
    broker.declare_queue(queue, config)
    try:
        sent = broker.send_batch(queue, [OutgoingMessage(f"cup {n}".encode()) for n in range(HELD)])
        held = _hold_then_kill(url, queue)
        killed_at = time.monotonic()
        if sorted(held) != sorted(sent):
            raise RuntimeError(f"the crashing consumer held {len(held)} of {len(sent)} messages")
        arrivals: dict[str, tuple[float, int]] = {}
        with open_broker(url) as consumer:
            consumer.declare_queue(queue, config)
            deadline = killed_at + REDELIVERY_TIMEOUT
            while len(arrivals) < len(sent) and time.monotonic() < deadline:
                for delivery in consumer.receive(queue, 10, wait=1):
                    arrivals.setdefault(
                        delivery.message.id,
                        (time.monotonic() - killed_at, delivery.message.attempt),
                    )
                    delivery.ack()
        times = sorted(seconds for seconds, _ in arrivals.values())
        return CrashRedelivery(
            held=len(held),
            redelivered=len(arrivals),
            seconds_to_first=round(times[0], 2) if times else None,
            seconds_to_all=round(times[-1], 2) if len(times) == len(sent) else None,
            attempts=tuple(attempt for _, attempt in arrivals.values()),
            visibility_timeout=VISIBILITY_TIMEOUT,
        )
    finally:
        broker.delete_queue(queue)


def _hold_then_kill(url: str, queue: str) -> list[str]:
    """Start the crash consumer, read the ids it holds, SIGKILL it; the ids it reported."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator.compare.crash_consumer",
            queue,
            str(HELD),
            str(VISIBILITY_TIMEOUT),
        ],
        env={**os.environ, URL_VARIABLE: url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(
        target=lambda: line.append(child.stdout.readline() if child.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(ARRIVAL_TIMEOUT + 15)
    os.kill(child.pid, signal.SIGKILL)
    _, stderr = child.communicate(timeout=10)
    if not line or not line[0].strip():
        last = stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the crashing consumer reported nothing: {last[0]}")
    ids: list[str] = json.loads(line[0])
    return ids
