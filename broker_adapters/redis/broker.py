"""RedisBroker: the Broker contract on one Redis server (see the package docstring)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
import weakref
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import redis

from broker_adapters.core import (
    Backlog,
    Broker,
    BrokerError,
    Delivery,
    Features,
    OutgoingMessage,
    QueueConfig,
    Sent,
    Subscription,
    check_single_mode,
)
from broker_adapters.redis.config import RedisConfig
from broker_adapters.redis.connection import make_client, translate_errors
from broker_adapters.redis.queues import Queues
from broker_adapters.redis.scripts import Scripts
from broker_adapters.redis.topics import Topics


def default_consumer_name() -> str:
    """Host, process and a random part: unique per Broker, and readable in XINFO CONSUMERS."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class RedisBroker(Broker):
    """Topics and queues on Redis streams; see ``broker_adapters.redis`` for the details.

    Thread-safe: the client is a connection pool, and each Subscription holds its own
    connection when it needs one (Pub/Sub).
    """

    features: ClassVar[Features] = Features(
        name="redis",
        durable_subscriptions=True,
        fire_and_forget_subscriptions=True,
        ordering="single-consumer",
        visibility_timeout=True,
        visibility_changes=True,
        delivery_delay=True,
        deduplication=True,
        counts_crash_redeliveries=True,
        native_dead_letter=False,
        backlog_splits_in_flight=True,
        redelivery_after_crash="after the visibility timeout (reclaimed by the next receive)",
        fifo_queues=True,
    )

    def __init__(self, client: redis.Redis, config: RedisConfig, location: str) -> None:
        self._client = client
        self.config = config
        self.consumer_name = config.consumer_name or default_consumer_name()
        self._location = location
        scripts = Scripts.register(client)
        self._queues = Queues(
            client, scripts, config, self.consumer_name, report=self._report_dead_letter
        )
        self._topics = Topics(client, scripts, config, self.consumer_name)
        self._subscriptions: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """``redis://[user:password@]host[:port][/db][?option=value&…]``.

        Options (keyword arguments, or the URL query) are ``RedisConfig`` fields. Connects
        and checks the credentials before returning.
        """
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(f"not a redis:// URL: {parts.scheme}://…")
        config = RedisConfig.from_options(dict(parse_qsl(parts.query)), options)
        client = make_client(urlunsplit(parts._replace(query="")), config)
        location = f"redis://{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path}"
        with translate_errors(f"a connection to {location}", config.reconnect_budget):
            client.ping()
        return cls(client, config, location)

    def __repr__(self) -> str:
        return f"RedisBroker({self._location!r}, consumer={self.consumer_name!r})"

    def _call(self, what: str) -> AbstractContextManager[None]:
        if self._closed:
            raise BrokerError(f"{self!r} is closed")
        return translate_errors(what, self.config.reconnect_budget)

    # Topics

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        with self._call(f"publish to topic {topic!r}"):
            return self._topics.publish_batch(topic, messages)

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        with self._call(f"subscribe {subscription!r} to topic {topic!r}"):
            joined = self._topics.subscribe(topic, subscription, durable)
        with self._lock:
            self._subscriptions.add(joined)
        return joined

    def delete_subscription(self, topic: str, subscription: str) -> None:
        with self._call(f"delete subscription {subscription!r} of topic {topic!r}"):
            self._topics.delete_subscription(topic, subscription)

    # Queues

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        check_single_mode("redis", config or QueueConfig())
        with self._call(f"declare queue {queue!r}"):
            self._queues.declare(queue, config or QueueConfig())

    def delete_queue(self, queue: str) -> None:
        with self._call(f"delete queue {queue!r}"):
            self._queues.delete(queue)

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        with self._call(f"send to queue {queue!r}"):
            return self._queues.send_batch(queue, messages)

    def send_batch_sequenced(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[Sent]:
        """On a FIFO queue, each message's sequence number: the queue's counter, 20 digits."""
        with self._call(f"send to queue {queue!r}"):
            return self._queues.send_batch_sequenced(queue, messages)

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        with self._call(f"receive from queue {queue!r}"):
            return self._queues.receive(queue, max_messages, wait, visibility_timeout)

    def describe_queue(self, queue: str) -> QueueConfig | None:
        """From the queue's config hash (the last declaration's)."""
        with self._call(f"describe queue {queue!r}"):
            return self._queues.describe(queue)

    def release_queue(self, queue: str) -> None:
        """Unsettled deliveries of the queue become receivable at once (Redis has no group
        membership to leave: a consumer only exists while it reads)."""
        with self._call(f"release queue {queue!r}"):
            self._queues.release(queue)

    def backlog(self, queue: str) -> Backlog:
        with self._call(f"read the backlog of queue {queue!r}"):
            return self._queues.backlog(queue)

    def close(self) -> None:
        """Hand back unsettled deliveries (visible again at once), leave, disconnect."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subscriptions = list(self._subscriptions)
        try:
            with translate_errors("close", self.config.reconnect_budget):
                for subscription in subscriptions:
                    subscription.close()
                self._queues.release_all()
        finally:
            self._client.close()
