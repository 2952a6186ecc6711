"""The ``Broker`` contract spoken through Barista's SQS and SNS APIs with boto3.

The comparison's experiments are written against ``broker_adapters.Broker``. This class lets
them run unchanged through the AWS APIs instead: a queue is an SQS queue (``CreateQueue`` with
the tag ``barista:backend``), a topic an SNS topic, a durable subscription an SQS queue
subscribed to the topic, receive is ``ReceiveMessage``, ack ``DeleteMessage``, a requeue
``ChangeMessageVisibility``. So the second table of ``barista compare --through aws-api`` shows
what a user of the AWS SDKs sees on each broker, beside what the adapters see.

URL: ``barista-api://KEY_ID:SECRET@127.0.0.1:8500/<backend>``, where ``kafka-share`` is the
``kafka`` backend of an API whose Kafka URL puts queues on share groups. What the APIs cannot
express
is refused with ``UnsupportedSemantic``, as an adapter refuses what its broker lacks: a
fire-and-forget subscriber (SNS has only endpoints that retry, then drop), ``nack`` without
requeue (SQS dead-letters only by its redrive policy), and a deduplication id on a standard
queue (SQS refuses it).
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from broker_adapters import (
    Backlog,
    Broker,
    BrokerError,
    BrokerUnavailable,
    Delivery,
    Features,
    Message,
    Outcome,
    OutgoingMessage,
    QueueConfig,
    QueueNotDeclared,
    Subscription,
    UnsupportedSemantic,
    backend_class,
)
from broker_adapters.core import check_receive_arguments
from orchestrator.arns import REGION
from orchestrator.compare.opening import API_SCHEME
from orchestrator.compare.urls import broker_of

SCHEME = API_SCHEME
BACKEND_TAG = "barista:backend"
BATCH = 10  # SQS's and SNS's batch limit
SCHEMES = {"kafka": "kafka", "kafka-share": "kafka", "rabbitmq": "amqp", "redis": "redis"}


def api_url(endpoint: str, key_id: str, secret: str, backend: str) -> str:
    """The URL ``connect_api`` takes for ``backend`` behind the API at ``endpoint``."""
    parts = urlsplit(endpoint)
    return f"{SCHEME}://{key_id}:{secret}@{parts.netloc}/{backend}"


def connect_api(url: str) -> ApiBroker:
    """An ``ApiBroker`` for a ``barista-api://`` URL."""
    parts = urlsplit(url)
    backend = parts.path.strip("/")
    if parts.scheme != SCHEME or backend not in SCHEMES:
        raise ValueError(f"not a {SCHEME}://KEY:SECRET@HOST:PORT/<{'|'.join(SCHEMES)}> URL")
    broker_class: type[ApiBroker] = api_broker_class(backend)
    return broker_class.from_url(url)


@cache
def api_broker_class(backend: str) -> type[ApiBroker]:
    """``ApiBroker`` declaring what the APIs give on ``backend``: the broker's own features,
    except what Barista's SQS layer adds (a visibility timeout it keeps for every backend)
    and what SQS and SNS do not offer."""
    native = _native_features(backend)
    features = dataclasses.replace(
        native,
        name=f"{backend} through SQS/SNS",
        visibility_timeout=True,
        visibility_changes=True,
        deduplication=False,
        fire_and_forget_subscriptions=False,
        redelivery_after_crash="after the visibility timeout (Barista's SQS layer holds receipts)",
    )
    return type(f"ApiBroker_{backend}", (ApiBroker,), {"features": features, "backend": backend})


def _native_features(backend: str) -> Features:
    """What the broker behind ``backend`` declares; for ``kafka-share``, Kafka's share-group
    queues (what ``connect`` gives for a ``?queue_mode=share-group`` URL)."""
    if backend == "kafka-share":
        from broker_adapters.kafka.broker import KafkaShareBroker  # noqa: PLC0415

        return KafkaShareBroker.features
    return backend_class(SCHEMES[backend]).features


@contextmanager
def _translated(call: str) -> Iterator[None]:
    """Errors of the API as this package's: unreachable or 5xx → ``BrokerUnavailable``."""
    try:
        yield
    except EndpointConnectionError as error:
        raise BrokerUnavailable(f"{call}: the API does not answer ({error})") from error
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        detail = error.response["Error"]
        text = f"{call}: {detail.get('Code')}: {detail.get('Message')}"
        if status >= 500:
            raise BrokerUnavailable(text) from error
        raise BrokerError(text) from error
    except BotoCoreError as error:
        raise BrokerError(f"{call}: {error}") from error


class ApiBroker(Broker):
    """One boto3 SQS client and one SNS client; see the module's docstring."""

    backend: str

    def __init__(self, endpoint: str, key_id: str, secret: str) -> None:
        session = boto3.session.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=REGION
        )
        config = Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=40)
        self.sqs: Any = session.client("sqs", endpoint_url=endpoint, config=config)
        self.sns: Any = session.client("sns", endpoint_url=endpoint, config=config)
        self._urls: dict[str, str] = {}
        self._topics: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        parts = urlsplit(url)
        endpoint = f"http://{parts.hostname}:{parts.port}"
        return cls(endpoint, unquote(parts.username or ""), unquote(parts.password or ""))

    # Queues

    def _tags(self) -> dict[str, str]:
        return {BACKEND_TAG: broker_of(self.backend)}

    def queue_url(self, queue: str) -> str:
        with self._lock:
            known = self._urls.get(queue)
        if known is not None:
            return known
        try:
            url: str = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except self.sqs.exceptions.QueueDoesNotExist:
            raise QueueNotDeclared(f"queue {queue!r} does not exist") from None
        with self._lock:
            self._urls[queue] = url
        return url

    def declare_queue(self, queue: str, config: QueueConfig | None = None) -> None:
        config = config or QueueConfig()
        attributes = {"VisibilityTimeout": str(math.ceil(config.visibility_timeout))}
        if config.redrive_policy is not None:
            target = self.queue_url(config.redrive_policy.dead_letter_queue)
            arn = self.sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": config.redrive_policy.max_receive_count,
                }
            )
        with _translated("CreateQueue"):
            url = self.sqs.create_queue(QueueName=queue, Attributes=attributes, tags=self._tags())
        with self._lock:
            self._urls[queue] = url["QueueUrl"]

    def delete_queue(self, queue: str) -> None:
        try:
            url = self.queue_url(queue)
        except QueueNotDeclared:
            return
        with _translated("DeleteQueue"):
            self.sqs.delete_queue(QueueUrl=url)
        with self._lock:
            self._urls.pop(queue, None)

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        url = self.queue_url(queue)
        ids: list[str] = []
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            entries = [_send_entry(str(n), message) for n, message in enumerate(chunk)]
            with _translated("SendMessageBatch"):
                answer = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if answer.get("Failed"):
                first = answer["Failed"][0]
                text = f"SendMessageBatch: {first['Code']}: {first.get('Message', '')}"
                if any(m.dedup_id for m in chunk):
                    raise UnsupportedSemantic(
                        f"{text} (an SQS standard queue takes no MessageDeduplicationId)"
                    )
                raise BrokerError(text)
            by_entry = {entry["Id"]: entry["MessageId"] for entry in answer["Successful"]}
            ids.extend(by_entry[str(n)] for n in range(len(chunk)))
        return ids

    def receive(
        self,
        queue: str,
        max_messages: int = 1,
        wait: float = 0.0,
        visibility_timeout: float | None = None,
    ) -> list[Delivery]:
        check_receive_arguments(max_messages, wait)
        url = self.queue_url(queue)
        request: dict[str, Any] = {
            "QueueUrl": url,
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": math.ceil(wait),
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if visibility_timeout is not None:
            request["VisibilityTimeout"] = math.ceil(visibility_timeout)
        with _translated("ReceiveMessage"):
            answer = self.sqs.receive_message(**request)
        return [
            ApiDelivery(_message(raw), self, url, raw["ReceiptHandle"])
            for raw in answer.get("Messages", [])
        ]

    def backlog(self, queue: str) -> Backlog:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        with _translated("GetQueueAttributes"):
            found = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url(queue), AttributeNames=names
            )["Attributes"]
        return Backlog(*(int(found.get(name, 0)) for name in names))

    # Topics

    def topic_arn(self, topic: str) -> str:
        with self._lock:
            known = self._topics.get(topic)
        if known is not None:
            return known
        with _translated("CreateTopic"):
            arn: str = self.sns.create_topic(
                Name=topic, Tags=[{"Key": BACKEND_TAG, "Value": broker_of(self.backend)}]
            )["TopicArn"]
        with self._lock:
            self._topics[topic] = arn
        return arn

    def publish_batch(self, topic: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        arn = self.topic_arn(topic)
        ids: list[str] = []
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            entries = [
                {"Id": str(n), "Message": message.body.decode()} for n, message in enumerate(chunk)
            ]
            with _translated("PublishBatch"):
                answer = self.sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
            if answer.get("Failed"):
                raise BrokerError(f"PublishBatch: {answer['Failed'][0]}")
            by_entry = {entry["Id"]: entry["MessageId"] for entry in answer["Successful"]}
            ids.extend(by_entry[str(n)] for n in range(len(chunk)))
        return ids

    def subscribe(self, topic: str, subscription: str, *, durable: bool = True) -> Subscription:
        if not durable:
            raise UnsupportedSemantic(
                "SNS has no fire-and-forget subscriber: an HTTP/S endpoint that is away gets "
                "its messages retried, then dropped (see the SNS column)"
            )
        queue = _subscription_queue(topic, subscription)
        self.declare_queue(queue)
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url(queue), AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        with _translated("Subscribe"):
            self.sns.subscribe(
                TopicArn=self.topic_arn(topic),
                Protocol="sqs",
                Endpoint=queue_arn,
                ReturnSubscriptionArn=True,
            )
        return ApiSubscription(self, topic, subscription, queue)

    def delete_subscription(self, topic: str, subscription: str) -> None:
        queue = _subscription_queue(topic, subscription)
        arn = self.topic_arn(topic)
        with _translated("ListSubscriptionsByTopic"):
            listed = self.sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        for entry in listed:
            if entry["Endpoint"].rsplit(":", 1)[-1] == queue:
                with _translated("Unsubscribe"):
                    self.sns.unsubscribe(SubscriptionArn=entry["SubscriptionArn"])
        self.delete_queue(queue)

    def close(self) -> None:
        """Nothing is held here: a received message stays in flight until its visibility
        timeout ends, as on SQS."""
        self.sqs.close()
        self.sns.close()


def _subscription_queue(topic: str, subscription: str) -> str:
    return f"{topic}-{subscription}"[:80]


def _send_entry(entry_id: str, message: OutgoingMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message.body.decode()}
    if message.delay:
        entry["DelaySeconds"] = math.ceil(message.delay)
    if message.group_id:
        entry["MessageGroupId"] = message.group_id
    if message.dedup_id:
        entry["MessageDeduplicationId"] = message.dedup_id
    if message.headers:
        entry["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in message.headers.items()
        }
    return entry


def _message(raw: Mapping[str, Any]) -> Message:
    system = raw.get("Attributes", {})
    return Message(
        body=raw["Body"].encode(),
        id=raw["MessageId"],
        timestamp=int(system.get("SentTimestamp", "0")) / 1000,
        attempt=int(system.get("ApproximateReceiveCount", "1")),
        group_id=system.get("MessageGroupId"),
        dedup_id=system.get("MessageDeduplicationId"),
        headers={
            name: str(value.get("StringValue", ""))
            for name, value in raw.get("MessageAttributes", {}).items()
        },
    )


class ApiDelivery(Delivery):
    """A received SQS message; its receipt handle settles it."""

    def __init__(self, message: Message, broker: ApiBroker, queue_url: str, handle: str) -> None:
        super().__init__(message)
        self._broker = broker
        self._queue_url = queue_url
        self._handle = handle

    def _settle_ack(self) -> None:
        with _translated("DeleteMessage"):
            self._broker.sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=self._handle)

    @classmethod
    def _settle_acks(cls, deliveries: Sequence[Delivery]) -> None:
        """DeleteMessageBatch, ten at a time per queue."""
        by_queue: dict[str, list[ApiDelivery]] = {}
        for delivery in deliveries:
            if not isinstance(delivery, ApiDelivery):
                raise TypeError(f"not an API delivery: {delivery!r}")
            by_queue.setdefault(delivery._queue_url, []).append(delivery)
        for url, group in by_queue.items():
            for start in range(0, len(group), BATCH):
                entries = [
                    {"Id": str(n), "ReceiptHandle": d._handle}
                    for n, d in enumerate(group[start : start + BATCH])
                ]
                with _translated("DeleteMessageBatch"):
                    group[0]._broker.sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def _change_visibility(self, timeout: float) -> bool:
        try:
            self._broker.sqs.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=self._handle,
                VisibilityTimeout=math.ceil(timeout),
            )
        except ClientError as error:
            if error.response["Error"].get("QueryErrorCode") in ("MessageNotInflight",):
                return False
            raise BrokerError(f"ChangeMessageVisibility: {error}") from error
        return True

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        if not requeue:
            raise UnsupportedSemantic(
                "SQS has no call to dead-letter a message: its redrive policy moves it after "
                "maxReceiveCount receives"
            )
        with _translated("ChangeMessageVisibility"):
            self._broker.sqs.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=self._handle,
                VisibilityTimeout=math.ceil(delay),
            )
        return Outcome.REQUEUED


class ApiSubscription(Subscription):
    """A durable subscription: the SQS queue SNS delivers the topic to, read with the SNS
    envelope unwrapped (so a message's id is the id ``Publish`` returned)."""

    def __init__(self, broker: ApiBroker, topic: str, name: str, queue: str) -> None:
        super().__init__(topic, name, durable=True)
        self._broker = broker
        self._queue = queue

    def receive(self, max_messages: int = 1, wait: float = 0.0) -> list[Delivery]:
        deliveries = self._broker.receive(self._queue, max_messages, wait)
        for delivery in deliveries:
            envelope = json.loads(delivery.message.body)
            delivery.message = dataclasses.replace(
                delivery.message, id=envelope["MessageId"], body=envelope["Message"].encode()
            )
        return deliveries

    def close(self) -> None:
        """The queue keeps collecting what is published until the subscription is deleted."""
