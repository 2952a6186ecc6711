"""Push consumption: one ``basic.consume`` per queue and consumer channel, kept for the
channel's life, with a prefetch window sized by what the caller holds.

Why not a consumer per receive (start, wait, cancel): pika rejects with requeue every message
that arrives for a consumer it has cancelled, and RabbitMQ 4 counts such a return as a
delivery attempt, so an idle receive could push a message toward its dead-letter queue. And
why not ``basic.get``: it costs a round trip per message and an empty queue must be polled.

The in-flight accounting that makes a long-lived consumer safe:

- The window (``basic.qos`` prefetch count) is set at each receive to the deliveries the
  caller still holds unsettled plus the ``max_messages`` it asks for, and changed only when
  that number changes (a barista taking one order at a time sets it once). The broker never
  pushes more than the window, so a consumer never hoards more than it asked for.
- Messages the broker pushes after a receive returned (an ack frees room in the window) wait
  in this consumer's buffer. They are in flight at the broker (``Backlog.in_flight``, not
  visible to other consumers), and the next receive hands them out first, without a round
  trip. At most ``max_messages`` of the last receive wait this way.
- The consumer is never cancelled, so nothing is ever rejected behind the caller's back. It
  ends with its channel (``release_queue``, ``close``, a lost connection): the broker then
  requeues the unsettled and the buffered messages alike, as it does for a consumer that
  crashed, and RabbitMQ 4.0 counts that return as a delivery attempt for each of them (so a
  buffered message that was never handed out may come back with ``attempt`` one higher).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from broker_adapters.core import Delivery, Outcome

# The longest one wait holds the connection's lock; other threads get it between waits.
WAIT_SLICE = 0.05


class PushConsumer:
    """The consumer of one queue on one (blocking) channel; see the module docstring."""

    def __init__(self, connection: Any, channel: Any, queue: str) -> None:
        self.channel = channel
        self.queue = queue
        self._connection = connection
        self._arrived: deque[tuple[Any, Any, bytes]] = deque()
        self._handed_out: list[Delivery] = []
        self._window = 0
        self._tag: str | None = None

    def take(
        self,
        max_messages: int,
        until: float,
        deliver: Callable[[Any, Any, bytes], Delivery],
    ) -> list[Delivery]:
        """Up to ``max_messages`` deliveries, waiting for the first until ``until`` (monotonic)
        or ``WAIT_SLICE`` at most; ``deliver`` turns a pushed message into a ``Delivery``."""
        self._handed_out = [d for d in self._handed_out if d.outcome is Outcome.PENDING]
        window = len(self._handed_out) + max_messages
        if window != self._window:
            self.channel.basic_qos(prefetch_count=window)
            self._window = window
        if self._tag is None or self._tag not in self.channel.consumer_tags:
            # BlockingChannel.basic_consume waits for consume-ok, so a missing queue raises
            # ChannelClosedByBroker (404) here, as basic.get did.
            self._tag = self.channel.basic_consume(self.queue, self._on_message, auto_ack=False)
        deadline = min(until, time.monotonic() + WAIT_SLICE)
        while not self._arrived and self.channel.is_open:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Returns early once a delivery has been dispatched to _on_message.
            self._connection.process_data_events(time_limit=remaining)
        taken: list[Delivery] = []
        while self._arrived and len(taken) < max_messages:
            taken.append(deliver(*self._arrived.popleft()))
        self._handed_out.extend(taken)
        return taken

    def _on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self._arrived.append((method, properties, body))
