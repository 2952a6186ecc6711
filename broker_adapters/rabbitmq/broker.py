"""``RabbitMQBroker``: the core contract on one AMQP connection (see the package docstring)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

import pika.exceptions

from broker_adapters import wire
from broker_adapters.core import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SOURCE,
    MAX_RECEIVES_EXCEEDED,
    Backlog,
    Broker,
    BrokerUnavailable,
    Delivery,
    Features,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    Subscription,
    UnsupportedSemantic,
    check_queue_config,
    check_receive_arguments,
    check_send_arguments,
    check_single_mode,
    new_message_id,
    now,
)
from broker_adapters.rabbitmq import codec, topology
from broker_adapters.rabbitmq.config import RabbitMQConfig
from broker_adapters.rabbitmq.connection import NOT_FOUND, Connection, Retry
from broker_adapters.rabbitmq.delivery import RabbitMQDelivery, Target
from broker_adapters.rabbitmq.management import ManagementClient, ManagementError, QueueNotFound
from broker_adapters.rabbitmq.session import Publication, Session
from broker_adapters.rabbitmq.topics import RabbitMQSubscription, durable_queue_name


def _check_name(kind: str, name: str) -> None:
    if not name:
        raise ValueError(f"a {kind} needs a name")
    if name.startswith("amq."):
        raise ValueError(f"{kind} names starting with 'amq.' are reserved by RabbitMQ: {name!r}")


class RabbitMQBroker(Broker):
    """Topics and queues on RabbitMQ 4 through one connection, rebuilt when it is lost.

    Thread safety: pika connections are not thread-safe, so every broker operation holds one
    lock; threads may share a broker, but their calls take turns (a long poll waits without the
    lock, between polls). For parallel consumers, use one broker per thread.
    """

    features: ClassVar[Features] = Features(
        name="rabbitmq",
        durable_subscriptions=True,
        fire_and_forget_subscriptions=True,
        ordering="single-consumer",
        visibility_timeout=False,
        visibility_changes=False,
        delivery_delay=True,
        deduplication=False,
        # Measured on 4.0.5: closing the channel or connection that holds a message raises
        # x-delivery-count just as a nack does, and counts toward the delivery limit.
        counts_crash_redeliveries=True,
        native_dead_letter=True,
        backlog_splits_in_flight=True,
        redelivery_after_crash=(
            "when the consumer's connection closes (TCP close or missed heartbeats)"
        ),
    )

    def __init__(self, config: RabbitMQConfig) -> None:
        """Connect now (riding out a starting broker up to ``config.timeout``)."""
        self.config = config
        self._registry = threading.Lock()
        self._queues: dict[str, QueueConfig] = {}
        self._exchanges: set[str] = set()
        self._management = ManagementClient(config)
        self._connection = Connection(config)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """Connect to ``amqp://user:password@host:port/vhost?management_port=15672``.

        ``options`` are ``RabbitMQConfig`` fields (timeout, heartbeat, management_url, …).
        """
        return cls(RabbitMQConfig.from_url(url, **options))

    # Topics

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Publish to the topic's fanout exchange, confirmed; ``delay`` is refused (SNS has none).

        A topic without subscriptions takes the message and keeps nothing, as SNS does.
        """
        _check_name("topic", topic)
        for message in messages:
            check_send_arguments(message.body, message.delay)
            if message.delay:
                raise UnsupportedSemantic("topics deliver at once; delay applies to queues")
            if message.dedup_id is not None:
                raise UnsupportedSemantic("RabbitMQ has no deduplication (see send_batch)")
        ids, publications = self._encode(topic, "", messages, mandatory=False)

        def prepare(session: Session) -> None:
            self._declare_exchange(session, topic)

        self._publish(publications, prepare, on_missing=lambda: self._exchanges.discard(topic))
        return ids

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        _check_name("topic", topic)
        _check_name("subscription", subscription)
        created = RabbitMQSubscription.create(self, topic, subscription, durable)
        target = created.target

        def bind(session: Session, _deadline: float) -> None:
            self._declare_exchange(session, topic)
            if durable:
                topology.declare_queue(session, target.queue, QueueConfig())
                session.admin().queue_bind(target.queue, topic)
            else:
                target.queue_on(session)

        self._connection.call(bind)
        return created

    def declare_fire_and_forget_queue(self, session: Session, topic: str) -> str:
        """A fire-and-forget subscription's queue on this session (see topology)."""
        self._declare_exchange(session, topic)
        return topology.declare_fire_and_forget_queue(session, topic)

    def delete_subscription(self, topic: str, subscription: str) -> None:
        queue = durable_queue_name(topic, subscription)
        self._connection.call(lambda session, _deadline: session.admin().queue_delete(queue))

    def leave(self, target: Target, *, delete_queue: bool) -> None:
        """Close a subscription's channel (unsettled messages go back); maybe delete its queue."""

        def close(session: Session, _deadline: float) -> None:
            session.close_consumer(target.key)
            if delete_queue and target.queue:
                session.admin().queue_delete(target.queue)

        if self._connection.closed or not self._connection.has_session:
            return  # the connection is gone, and an exclusive queue with it
        self._connection.call(close)

    # Queues

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        """A durable quorum queue, plus its dead-letter queue when there is a redrive policy.

        Idempotent for the same config. A queue that exists with other arguments (say, another
        max_receive_count) raises BrokerError: AMQP cannot change them on a live queue.
        """
        _check_name("queue", queue)
        check_single_mode("rabbitmq", config or QueueConfig())
        config = config or QueueConfig()
        check_queue_config(self.features, config)
        policy = config.redrive_policy
        if policy is not None:
            _check_name("queue", policy.dead_letter_queue)

        def declare(session: Session, _deadline: float) -> None:
            if policy is not None:
                topology.declare_dead_letter_queue(session, policy.dead_letter_queue)
            topology.declare_queue(session, queue, config)

        self._connection.call(declare)
        with self._registry:
            if policy is not None:
                self._queues.setdefault(policy.dead_letter_queue, QueueConfig())
            self._queues[queue] = config

    def delete_queue(self, queue: str) -> None:
        """Delete the queue and its messages; its delay queues expire on their own."""
        with self._registry:
            self._queues.pop(queue, None)

        def delete(session: Session, _deadline: float) -> None:
            session.close_consumer(f"queue:{queue}")
            session.admin().queue_delete(queue)

        self._connection.call(delete)

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Confirmed sends; a delayed message waits in ``{queue}.delay.{ms}ms`` meanwhile.

        Each delay value has its own holding queue whose message TTL is that delay and which
        dead-letters into the queue, so every message waits exactly its delay and a long
        delay never holds up a short one. RabbitMQ keeps no deduplication store, so a
        ``dedup_id`` raises UnsupportedSemantic rather than being ignored.
        """
        self._config_of(queue)
        for message in messages:
            check_send_arguments(message.body, message.delay)
            if message.dedup_id is not None:
                raise UnsupportedSemantic(
                    "RabbitMQ has no deduplication: send without dedup_id and make the "
                    "consumer idempotent (Features.deduplication is False)",
                )
        ids, publications = self._encode("", queue, messages, mandatory=True)
        delays = {_milliseconds(message.delay) for message in messages} - {0}

        def prepare(session: Session) -> None:
            for delay_ms in delays:
                self._declare_delay_queue(session, queue, delay_ms)

        self._publish(publications, prepare, on_missing=lambda: None)
        return ids

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        """Up to ``max_messages`` pushed by the queue's consumer, waiting up to ``wait``.

        ``visibility_timeout`` has no effect (Features.visibility_timeout is False): a message
        stays with this consumer until it is settled or this broker's connection closes.

        The first receive of a queue starts a consumer (basic.consume with manual ack) that
        lives as long as its channel; its prefetch window is what the caller holds unsettled
        plus ``max_messages``, and a message the broker pushes between receives waits in
        flight for the next one. Why a long-lived consumer, and what that means for in-flight
        counts and attempts: ``broker_adapters.rabbitmq.consumer``.
        """
        check_receive_arguments(max_messages, wait)
        config = self._config_of(queue)
        target = Target(queue, f"queue:{queue}", config.redrive_policy)
        return self.poll(target, max_messages, wait)

    def describe_queue(self, queue: str) -> QueueConfig | None:
        """From the queue's arguments (management API): the delivery limit and dead-letter
        routing key are the redrive policy (``topology.queue_arguments``). RabbitMQ keeps no
        visibility timeout, so that is the default."""
        try:
            stats = self._management.queue(queue)
        except QueueNotFound:
            return None
        except (OSError, ManagementError) as error:
            raise BrokerUnavailable(f"RabbitMQ's management API: {error}") from error
        arguments = stats.get("arguments") or {}
        limit = arguments.get("x-delivery-limit")
        dead_letter = arguments.get("x-dead-letter-routing-key")
        if dead_letter and isinstance(limit, int) and limit >= 0:
            return QueueConfig(redrive_policy=RedrivePolicy(str(dead_letter), limit))
        return QueueConfig()

    def release_queue(self, queue: str) -> None:
        """Close the queue's consumer channel: RabbitMQ puts its unacked messages back."""
        if self._connection.closed or not self._connection.has_session:
            return
        key = f"queue:{queue}"
        self._connection.call(lambda session, _deadline: session.close_consumer(key))

    def backlog(self, queue: str) -> Backlog:
        """Visible from AMQP (exact, now); in flight and delayed from the management API.

        The management API's counts for a quorum queue are refreshed on the queue's Ra tick,
        every 5 s by default (``quorum_tick_interval``; collect_statistics_interval does not
        speed it up, measured on 4.0.5), so ``in_flight`` and ``delayed`` may be that old.
        ``visible`` is the message count of a passive queue.declare, which is current.
        """
        visible = self._connection.call(
            lambda session, _deadline: int(
                session.admin().queue_declare(queue, passive=True).method.message_count
            )
        )
        in_flight, delayed = self._management.in_flight_and_delayed(queue, self._connection.wait)
        return Backlog(visible=visible, in_flight=in_flight, delayed=delayed)

    def close(self) -> None:
        """Close the connection: the broker puts every unsettled message back."""
        self._connection.close()

    # Used by deliveries and subscriptions

    def poll(self, target: Target, max_messages: int, wait: float) -> list[Delivery]:
        """Up to ``max_messages`` from the target's push consumer, waiting up to ``wait`` for
        the first (``consumer.PushConsumer``). The connection's lock is held for one short
        slice of the wait at a time, so other threads' calls get in between."""
        deadline = time.monotonic() + wait
        while True:
            doomed: list[RabbitMQDelivery] = []

            def take(
                session: Session, _deadline: float, doomed: list[RabbitMQDelivery] = doomed
            ) -> list[Delivery]:
                return self._take(session, target, max_messages, deadline, doomed)

            deliveries = self._connection.call(take)
            if doomed:
                self._dead_letter_past_receives(target, doomed)
                deliveries = [d for d in deliveries if d not in doomed]
            if deliveries or time.monotonic() >= deadline or self._connection.closed:
                return deliveries

    def _dead_letter_past_receives(self, target: Target, doomed: list[RabbitMQDelivery]) -> None:
        """Dead-letter, and report, messages received ``max_receive_count`` times already.

        SQS moves such a message on the receive after its last, and so does this adapter, so
        that the consuming process hears of it (``Broker.watch_dead_letters``). The queue's
        delivery limit (``topology.queue_arguments``) is one higher: the broker dead-letters
        by itself only if this process dies before it could.
        """
        policy = target.redrive
        if policy is None:
            raise AssertionError("dead-lettering without a redrive policy")
        for delivery in doomed:
            delivery.nack(requeue=False, reason=MAX_RECEIVES_EXCEEDED)
            if delivery.outcome is Outcome.DEAD_LETTERED:
                self._report_dead_letter(
                    target.queue,
                    policy.dead_letter_queue,
                    delivery.message,
                    MAX_RECEIVES_EXCEEDED,
                )

    def settle(self, delivery: RabbitMQDelivery, action: Callable[[Any], None]) -> bool:
        """Ack/nack/reject on the delivery's own channel; False (nothing done) if it is gone."""
        return self._connection.settle(delivery.channel, action)

    def dead_letter(
        self, delivery: RabbitMQDelivery, policy: RedrivePolicy, reason: str
    ) -> Outcome:
        """Copy to the dead-letter queue with the reason (confirmed), then ack the original."""
        message = delivery.message
        headers = wire.carry_headers(
            message, {DEAD_LETTER_REASON: reason, DEAD_LETTER_SOURCE: delivery.queue}
        )
        if self._connection.is_current(delivery.channel):
            copy = Publication(
                "",
                policy.dead_letter_queue,
                message.body,
                codec.properties(message.id, message.timestamp, headers),
                mandatory=True,
            )
            self._publish([copy], lambda _session: None, on_missing=lambda: None)
            self.settle(delivery, lambda channel: channel.basic_ack(delivery.delivery_tag))
        return Outcome.DEAD_LETTERED

    def requeue_later(self, delivery: RabbitMQDelivery, delay: float) -> Outcome:
        """Re-send through the delay queue carrying the receive count, then ack the original."""
        message = delivery.message
        if self._connection.is_current(delivery.channel):
            delay_ms = _milliseconds(delay)
            copy = Publication(
                "",
                codec.delay_queue_name(delivery.queue, delay_ms),
                message.body,
                codec.properties(message.id, message.timestamp, wire.carry_headers(message)),
                mandatory=True,
            )

            def prepare(session: Session) -> None:
                self._declare_delay_queue(session, delivery.queue, delay_ms)

            self._publish([copy], prepare, on_missing=lambda: None)
            self.settle(delivery, lambda channel: channel.basic_ack(delivery.delivery_tag))
        return Outcome.REQUEUED

    # Internals

    def _config_of(self, queue: str) -> QueueConfig:
        with self._registry:
            config = self._queues.get(queue)
        if config is None:
            raise QueueNotDeclared(
                f"queue {queue!r} was not declared by this broker; call declare_queue first "
                "(its redrive policy lives in the declaration)",
            )
        return config

    def _encode(
        self, exchange: str, routing_key: str, messages: Sequence[OutgoingMessage], mandatory: bool
    ) -> tuple[list[str], list[Publication]]:
        ids: list[str] = []
        publications: list[Publication] = []
        for message in messages:
            message_id, timestamp = new_message_id(), now()
            headers = wire.encode_headers(
                message_id,
                timestamp,
                group_id=message.group_id,
                trace_id=message.trace_id,
                headers=message.headers,
            )
            delay_ms = _milliseconds(message.delay)
            key = codec.delay_queue_name(routing_key, delay_ms) if delay_ms else routing_key
            ids.append(message_id)
            publications.append(
                Publication(
                    exchange,
                    key,
                    message.body,
                    codec.properties(message_id, timestamp, headers),
                    mandatory,
                )
            )
        return ids, publications

    def _publish(
        self,
        publications: Sequence[Publication],
        prepare: Callable[[Session], None],
        on_missing: Callable[[], None],
    ) -> None:
        """Publish until every one is confirmed, across reconnects (so maybe twice)."""

        def attempt(session: Session, deadline: float) -> None:
            prepare(session)
            try:
                nacked = session.publisher(deadline).publish(publications, deadline)
            except pika.exceptions.ChannelClosedByBroker as error:
                if error.reply_code != NOT_FOUND:
                    raise
                on_missing()  # the exchange was deleted meanwhile: declare it again
                raise Retry(str(error)) from error
            if nacked:
                raise Retry(f"the broker nacked {len(nacked)} publishes")

        self._connection.call(attempt)
        returned = sorted({p.routing_key for p in publications if p.returned})
        if returned:
            with self._registry:
                for name in returned:
                    self._queues.pop(name, None)
            raise QueueNotDeclared(
                f"no queue {', '.join(returned)} on the broker (deleted by another client?); "
                "the message was not kept: declare the queue again",
            )

    def _take(
        self,
        session: Session,
        target: Target,
        max_messages: int,
        until: float,
        doomed: list[RabbitMQDelivery],
    ) -> list[Delivery]:
        """Deliveries from the target's consumer; those received too often already are also
        added to ``doomed``, their ``attempt`` the receives that reached a consumer."""
        queue = target.queue_on(session)
        consumer = session.push_consumer(target.key, queue)
        channel = consumer.channel
        policy = target.redrive

        def deliver(method: Any, properties: Any, body: bytes) -> Delivery:
            message = codec.decode(method, properties, body)
            past = policy is not None and message.attempt > policy.max_receive_count
            if past:
                message = dataclasses.replace(message, attempt=message.attempt - 1)
            delivery = RabbitMQDelivery(self, target, queue, channel, method.delivery_tag, message)
            if past:
                doomed.append(delivery)
            return delivery

        return consumer.take(max_messages, until, deliver)

    def _declare_exchange(self, session: Session, topic: str) -> None:
        if topic not in self._exchanges:
            topology.declare_topic(session, topic)
            self._exchanges.add(topic)

    def _declare_delay_queue(self, session: Session, queue: str, delay_ms: int) -> None:
        idle_ms = round(self.config.delay_queue_idle_expiry * 1000)
        topology.declare_delay_queue(session, queue, delay_ms, idle_ms)


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)
