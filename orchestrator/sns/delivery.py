"""The delivery controller: pushes each subscription's messages to its endpoint.

Level-triggered over the store, like the other controllers. Each pass:

- posts a SubscriptionConfirmation to every ``http``/``https`` subscription still pending
  (again on later passes, no more often than every ``CONFIRMATION_RETRY`` seconds, until it
  goes through);
- keeps one delivery worker (a thread with its own broker connection) per confirmed
  subscription, and stops the workers of subscriptions that are gone.

A worker consumes its subscription's durable broker subscription (``sns-{id}``), so what is
published while the orchestrator is down waits in the broker. For each message: the filter
policy decides; the message is delivered (the JSON envelope, or the raw message with
RawMessageDelivery); a failure is retried along the effective delivery policy (``retries``),
its delays divided by the time scale; when the policy is spent, or at once for a client
error (the queue does not exist), the message goes to the subscription's dead-letter queue
(RedrivePolicy) or is dropped. Only then is it acked. A subscription's messages are
delivered one at a time, in order, so one message waiting for a retry holds back the ones
behind it on that subscription (never on others).

SQS delivery goes through a ``QueueSender`` (``sqs_sender`` makes one from the SQS package),
so a message reaches a Barista queue exactly as ``SendMessage`` would put it there.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from broker_adapters import Broker, BrokerError, Delivery, connect
from orchestrator.errors import AwsError
from orchestrator.loop import run_passes
from orchestrator.sns import attributes, envelope
from orchestrator.sns.messages import Published, published
from orchestrator.sns.model import CONFIRMED_BY_ENDPOINT, Subscription, Topic
from orchestrator.sns.signing import signer_for
from orchestrator.sns.store import SnsStore
from orchestrator.sqs import messaging
from orchestrator.sqs.model import name_from_arn as queue_name_from_arn
from orchestrator.sqs.service import SqsService
from orchestrator.time_scale import TimeScale

log = logging.getLogger("orchestrator.sns.delivery")

# (queue ARN, a SendMessage entry: MessageBody, MessageAttributes, MessageGroupId, …)
QueueSender = Callable[[str, Mapping[str, Any]], None]
CONFIRMATION_RETRY = 20.0  # seconds, AWS units (divided by the time scale)
HTTP_TIMEOUT = 15.0  # SNS waits 15 s for an HTTP/S endpoint to answer
RECEIVE_WAIT = 1.0
IDLE_PAUSE = 0.05  # after an empty receive (a broker may answer at once)


class DeliveryFailed(Exception):
    """One attempt failed. ``client`` errors are not retried (SNS sends them straight to the
    dead-letter queue)."""

    def __init__(self, reason: str, *, client: bool = False, code: str = "DeliveryFailed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.client = client
        self.code = code


def sqs_sender(service: SqsService) -> QueueSender:
    """Send to a Barista queue by its ARN through the SQS package's own SendMessage."""

    def send(arn: str, entry: Mapping[str, Any]) -> None:
        name = queue_name_from_arn(arn)
        if name is None:
            raise AwsError("QueueDoesNotExist", f"{arn} is not an SQS queue ARN")
        queue = service.lookup(name)
        if not queue.fifo:
            entry = {
                k: v
                for k, v in entry.items()
                if k not in ("MessageGroupId", "MessageDeduplicationId")
            }
        messaging.send_message(service, queue, entry)

    return send


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    """POST; any 2xx is a delivery, anything else a failure."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - the subscriber's URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"{url} answered {error.code}", code=f"HTTP{error.code}") from error
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise DeliveryFailed(f"{url}: {error}", code="ConnectionFailed") from error
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{url} answered {status}", code=f"HTTP{status}")


@dataclass(frozen=True)
class Delivering:
    """What a worker needs to know about its subscription, reread for every message."""

    subscription: Subscription
    topic: Topic | None


class DeliveryController:
    """Keeps a delivery worker per confirmed subscription and confirms pending ones.

    ``broker_urls`` maps a backend (kafka, rabbitmq, redis) to its URL, as the SQS package's
    ``urls_from_environ`` reads them; ``api_endpoint`` is where subscribers reach the
    orchestrator (SubscribeURL, UnsubscribeURL); ``send_to_queue`` delivers to SQS queues
    (None: sqs subscriptions fail as client errors, to their DLQ — which is a queue too, so
    without a sender their messages are dropped, and logged).
    """

    def __init__(
        self,
        store_path: str | Path,
        broker_urls: Mapping[str, str],
        api_endpoint: str,
        send_to_queue: QueueSender | None = None,
        *,
        time_scale: TimeScale | None = None,
        clock: Callable[[], float] = time.time,
        http_timeout: float = HTTP_TIMEOUT,
        opener: Callable[[str], Broker] = connect,
    ) -> None:
        self.store_path = Path(store_path)
        # Signs every envelope; the key lives beside the store (signing.py).
        self.signer = signer_for(store_path)
        self.broker_urls = dict(broker_urls)
        self.api_endpoint = api_endpoint.rstrip("/")
        self.send_to_queue = send_to_queue
        self.time_scale = time_scale or TimeScale()
        self.clock = clock
        self.http_timeout = http_timeout
        self.opener = opener
        self._workers: dict[str, _Worker] = {}
        self._confirmation_attempts: dict[str, float] = {}

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        try:
            run_passes(self.reconcile, stopping, interval, "sns delivery")
        finally:
            self.close()

    def reconcile(self) -> None:
        with SnsStore(self.store_path) as store:
            subscriptions = store.subscriptions()
            topics = {topic.name: topic for topic in store.topics()}
            for subscription in subscriptions:
                if not subscription.confirmed and subscription.protocol in CONFIRMED_BY_ENDPOINT:
                    self._confirm(store, subscription, topics.get(subscription.topic))
        wanted = {s.id: s for s in subscriptions if s.confirmed and s.topic in topics}
        for subscription_id in list(self._workers):
            worker = self._workers[subscription_id]
            if subscription_id not in wanted or not worker.alive:
                # A subscription that is gone takes its broker subscription with it (Kafka
                # refuses to delete a consumer group while the worker is still in it).
                worker.stop(forget=subscription_id not in wanted)
                del self._workers[subscription_id]
        for subscription_id, subscription in wanted.items():
            if subscription_id not in self._workers:
                topic = topics[subscription.topic]
                url = self.broker_urls.get(topic.backend)
                if url is None:
                    log.warning("no %s broker for %s", topic.backend, subscription.arn)
                    continue
                worker = _Worker(self, subscription, topic, url)
                self._workers[subscription_id] = worker
                worker.start()

    @property
    def workers(self) -> int:
        return len(self._workers)

    def close(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        self._workers.clear()

    # Confirmation

    def _confirm(self, store: SnsStore, subscription: Subscription, topic: Topic | None) -> None:
        if subscription.confirmation_sent is not None:
            return
        last = self._confirmation_attempts.get(subscription.id)
        now = time.monotonic()
        if last is not None and now - last < self.time_scale.scaled(CONFIRMATION_RETRY):
            return
        self._confirmation_attempts[subscription.id] = now
        document = envelope.subscription_confirmation(
            subscription, topic, self.api_endpoint, self.clock(), self.signer
        )
        headers = envelope.http_headers(
            "SubscriptionConfirmation", document["MessageId"], subscription
        )
        try:
            post(subscription.endpoint, envelope.encode(document), headers, self.http_timeout)
        except DeliveryFailed as error:
            log.info("confirmation to %s failed: %s", subscription.endpoint, error.reason)
            return
        current = store.subscription(subscription.id)
        if current is not None and current.confirmation_sent is None:
            store.put_subscription(replace(current, confirmation_sent=self.clock()))

    # Delivery of one message (called by workers)

    def deliver(self, delivering: Delivering, message: Published) -> None:
        """One attempt; raises DeliveryFailed."""
        subscription = delivering.subscription
        if subscription.protocol == "sqs":
            self._to_queue(subscription.endpoint, self._sqs_entry(delivering, message))
            return
        if subscription.protocol == "application":
            text = message.text_for("application")
            headers = envelope.http_headers(
                "Notification", message.message_id, subscription, raw=True
            )
            headers |= {
                f"x-amz-sns-attribute-{name}": str(value.get("StringValue", ""))
                for name, value in message.attributes.items()
                if "StringValue" in value
            }
            post(subscription.endpoint, text.encode(), headers, self.http_timeout)
            return
        if subscription.raw:
            body = message.text_for(subscription.protocol).encode()
        else:
            body = envelope.encode(
                envelope.notification(
                    message, delivering.topic, subscription, self.api_endpoint, self.signer
                )
            )
        headers = envelope.http_headers(
            "Notification", message.message_id, subscription, raw=subscription.raw
        )
        post(subscription.endpoint, body, headers, self.http_timeout)

    def _sqs_entry(self, delivering: Delivering, message: Published) -> dict[str, Any]:
        subscription = delivering.subscription
        entry: dict[str, Any]
        if subscription.raw:
            entry = {"MessageBody": message.text_for("sqs")}
            if message.attributes:
                entry["MessageAttributes"] = dict(message.attributes)
        else:
            document = envelope.notification(
                message, delivering.topic, subscription, self.api_endpoint, self.signer
            )
            entry = {"MessageBody": envelope.encode(document).decode()}
        if message.group_id:
            entry["MessageGroupId"] = message.group_id
        if message.dedup_id:
            entry["MessageDeduplicationId"] = message.dedup_id
        return entry

    def _to_queue(self, arn: str, entry: Mapping[str, Any]) -> None:
        if self.send_to_queue is None:
            raise DeliveryFailed("this orchestrator has no SQS sender", client=True)
        try:
            self.send_to_queue(arn, entry)
        except AwsError as error:
            client = error.code in (
                "QueueDoesNotExist",
                "InvalidParameterValue",
                "MissingParameter",
            )
            raise DeliveryFailed(
                f"{arn}: {error.code}: {error.message}",
                client=client or error.sender_fault,
                code=error.code,
            ) from error

    def dead_letter(
        self, delivering: Delivering, message: Published, error: DeliveryFailed
    ) -> None:
        """To the subscription's DLQ (as AWS: the message, its attributes, the error), or
        dropped and logged."""
        subscription = delivering.subscription
        target = attributes.dead_letter_queue(subscription)
        if target is None:
            log.warning("dropped %s for %s: %s", message.message_id, subscription.arn, error.reason)
            return
        entry = self._sqs_entry(delivering, message)
        extra = {
            "ErrorCode": {"DataType": "String", "StringValue": error.code},
            "ErrorMessage": {"DataType": "String", "StringValue": error.reason[:1000] or "-"},
        }
        given = dict(entry.get("MessageAttributes") or {})
        if len(given) + len(extra) <= 10:
            entry["MessageAttributes"] = {**given, **extra}
        try:
            self._to_queue(target, entry)
        except DeliveryFailed as failed:
            log.warning(
                "dropped %s for %s: its dead-letter queue refused it: %s",
                message.message_id,
                subscription.arn,
                failed.reason,
            )

    @staticmethod
    def lookup(store: SnsStore, subscription_id: str) -> Delivering | None:
        subscription = store.subscription(subscription_id)
        if subscription is None or not subscription.confirmed:
            return None
        return Delivering(subscription, store.topic(subscription.topic))


class _Worker:
    """One subscription's delivery loop, on its own thread and broker connection."""

    def __init__(
        self, controller: DeliveryController, subscription: Subscription, topic: Topic, url: str
    ) -> None:
        self.controller = controller
        self.subscription = subscription
        self.topic = topic
        self.url = url
        self.stopping = threading.Event()
        self.forget = False
        self._thread = threading.Thread(
            target=self._run, name=f"sns-{subscription.id[:8]}", daemon=True
        )

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, forget: bool = False) -> None:
        """Stop delivering; with ``forget``, delete the broker subscription too."""
        self.forget = self.forget or forget
        self.stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            with (
                SnsStore(self.controller.store_path) as store,
                self.controller.opener(self.url) as broker,
            ):
                name = self.subscription.broker_subscription
                with broker.subscribe(self.topic.name, name, durable=True) as source:
                    while not self.stopping.is_set():
                        deliveries = source.receive(max_messages=10, wait=RECEIVE_WAIT)
                        if not deliveries:
                            self.stopping.wait(IDLE_PAUSE)
                        for delivery in deliveries:
                            if self.stopping.is_set():
                                break
                            self._handle(store, delivery)
                if self.forget:
                    broker.delete_subscription(self.topic.name, name)
        except BrokerError as error:
            log.warning("delivery worker of %s: %s", self.subscription.arn, error)
        except Exception:
            log.exception("delivery worker of %s failed", self.subscription.arn)

    def _handle(self, store: SnsStore, delivery: Delivery) -> None:
        # Reread for every message: attributes (filter policy, raw delivery, DLQ) may change.
        delivering = self.controller.lookup(store, self.subscription.id)
        if delivering is None:
            self.stop(forget=True)
            return
        message = published(delivery.message)
        policy = attributes.parsed_filter(delivering.subscription)
        if policy is not None and not policy.matches(message.attributes, message.message):
            delivery.ack()
            return
        retry = attributes.retry_policy(delivering.subscription, delivering.topic)
        attempt = 0
        while True:
            try:
                self.controller.deliver(delivering, message)
            except DeliveryFailed as error:
                attempt += 1
                delay = None if error.client else retry.delay(attempt)
                if delay is None:
                    self.controller.dead_letter(delivering, message, error)
                    break
                log.info(
                    "delivery %d of %s to %s failed (%s); retrying in %.1f s",
                    attempt,
                    message.message_id,
                    delivering.subscription.endpoint,
                    error.reason,
                    delay,
                )
                if self.stopping.wait(self.controller.time_scale.scaled(delay)):
                    return  # not acked: the broker gives it back to the next worker
            else:
                break
        delivery.ack()
