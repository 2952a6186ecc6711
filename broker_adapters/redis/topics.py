"""SNS-like topics: one stream per topic for durable subscriptions, Pub/Sub for the others.

``publish`` writes both in one MULTI/EXEC: the stream entry (``XADD … MAXLEN ~``) that every
durable subscription's consumer group reads, and a ``PUBLISH`` on the channel of the same name
that the fire-and-forget subscriptions hear if they are connected at that moment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

import redis
import redis.client
import redis.exceptions

from broker_adapters import wire
from broker_adapters.core import (
    BrokerError,
    Delivery,
    Outcome,
    OutgoingMessage,
    Subscription,
    UnsupportedSemantic,
    check_receive_arguments,
    check_send_arguments,
    new_message_id,
    now,
)
from broker_adapters.redis import codec
from broker_adapters.redis.config import RedisConfig
from broker_adapters.redis.connection import translate_errors
from broker_adapters.redis.keys import check_name, subscription_keys, topic_key
from broker_adapters.redis.scripts import Scripts
from broker_adapters.redis.streams import StreamReceiver, StreamSpec

BUSYGROUP = "BUSYGROUP"


class DurableSubscription(Subscription):
    """A consumer group on the topic's stream; messages wait in the stream while nobody reads.

    A delivery stays in flight for ``RedisConfig.subscription_visibility_timeout``; unacked
    (or nacked) entries are received again, own nacked ones first. ``ack`` is XACK only: the
    entry stays for the other subscriptions until the stream is trimmed.
    """

    def __init__(self, topic: str, name: str, receiver: StreamReceiver, visibility: float) -> None:
        super().__init__(topic, name, durable=True)
        self._receiver = receiver
        self._visibility = visibility

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        return self._receiver.receive(max_messages, wait, self._visibility)

    def close(self) -> None:
        self._receiver.release()


class _Heard(Delivery):
    """A Pub/Sub message: there is nothing to acknowledge and nowhere to requeue it."""

    def _settle_ack(self) -> None:
        pass

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        return Outcome.DROPPED


class FireAndForgetSubscription(Subscription):
    """A Pub/Sub subscription: only what is published while it is connected.

    Redis buffers messages for a slow subscriber up to ``client-output-buffer-limit pubsub``
    and then disconnects it (the messages in the buffer are lost). After a reconnect redis-py
    subscribes again; what was published in between is gone, as SNS without a queue would
    lose it.
    """

    def __init__(self, topic: str, name: str, pubsub: redis.client.PubSub, budget: float) -> None:
        super().__init__(topic, name, durable=False)
        self._pubsub = pubsub
        self._budget = budget
        # PubSub objects are not thread-safe; one receive at a time.
        self._lock = threading.Lock()

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        deadline = time.monotonic() + wait
        heard: list[Delivery] = []
        with self._lock, translate_errors(f"receive on topic {self.topic!r}", self._budget):
            while len(heard) < max_messages:
                # Wait for the first message only; then take what is already here.
                timeout = max(0.0, deadline - time.monotonic()) if not heard else 0.0
                message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
                if message is not None and message["type"] == "message":
                    heard.append(_Heard(codec.decode_payload(message["data"])))
                elif heard or time.monotonic() >= deadline:
                    break
        return heard

    def close(self) -> None:
        with self._lock:
            self._pubsub.close()


class Topics:
    def __init__(
        self, client: redis.Redis, scripts: Scripts, config: RedisConfig, consumer: str
    ) -> None:
        self._client = client
        self._scripts = scripts
        self._config = config
        self._consumer = consumer

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        key = topic_key(topic)
        for message in messages:
            check_send_arguments(message.body, message.delay)
            if message.delay or message.dedup_id is not None:
                raise UnsupportedSemantic(
                    "Redis topics take neither a delay nor a dedup_id (SNS standard topics do not)",
                )
        if not messages:
            return []
        ids: list[str] = []
        with self._client.pipeline(transaction=True) as pipe:
            for message in messages:
                message_id = new_message_id()
                headers = wire.encode_headers(
                    message_id,
                    now(),
                    group_id=message.group_id,
                    trace_id=message.trace_id,
                    headers=message.headers,
                )
                pipe.xadd(
                    key,
                    codec.entry_fields(message.body, headers),
                    maxlen=self._config.topic_max_length,
                    approximate=True,
                )
                pipe.publish(key, codec.encode_payload(message.body, headers))
                ids.append(message_id)
            pipe.execute()
        return ids

    def publish(
        self,
        topic: str,
        body: bytes,
        headers: Mapping[str, str] | None,
        group_id: str | None,
        trace_id: str | None,
    ) -> str:
        message = OutgoingMessage(
            body, group_id=group_id, trace_id=trace_id, headers=dict(headers or {})
        )
        [message_id] = self.publish_batch(topic, [message])
        return message_id

    def subscribe(self, topic: str, name: str, durable: bool) -> Subscription:
        key = topic_key(topic)
        check_name("subscription", name)
        if not durable:
            return self._listen(topic, name, key)
        try:
            # "$": a new subscription starts with what is published from now on. An existing
            # one resumes where it left off, with what was published while it was away.
            self._client.xgroup_create(key, name, id="$", mkstream=True)
        except redis.exceptions.ResponseError as error:
            if BUSYGROUP not in str(error):
                raise
        spec = StreamSpec(
            subscription_keys(topic, name),
            delete_on_ack=False,
            dead_letter=None,
            description=f"subscription {name!r} of topic {topic!r}",
            missing=BrokerError,
        )
        receiver = StreamReceiver(self._client, self._scripts, self._config, self._consumer, spec)
        return DurableSubscription(
            topic, name, receiver, self._config.subscription_visibility_timeout
        )

    def _listen(self, topic: str, name: str, channel: str) -> Subscription:
        pubsub = self._client.pubsub()
        try:
            pubsub.subscribe(channel)
            # Return only once Redis confirmed: from then on every publish reaches us.
            deadline = time.monotonic() + self._config.socket_timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise redis.exceptions.TimeoutError(f"no confirmation of SUBSCRIBE {channel}")
                reply = pubsub.get_message(timeout=remaining)
                if reply is not None and reply["type"] == "subscribe":
                    break
        except BaseException:
            pubsub.close()
            raise
        return FireAndForgetSubscription(topic, name, pubsub, self._config.reconnect_budget)

    def delete_subscription(self, topic: str, name: str) -> None:
        keys = subscription_keys(topic, name)
        if self._client.exists(keys.stream):
            self._client.xgroup_destroy(keys.stream, keys.group)
        self._client.delete(keys.inflight, keys.delayed, keys.delayed_messages, keys.wakeup)
