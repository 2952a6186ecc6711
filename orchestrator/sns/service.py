"""What every SNS operation shares: the store, the broker connections, the backend choice.

One ``SnsService`` per orchestrator process and store. Broker connections are the SQS
package's ``BrokerPool`` (one per backend, locked per call), configured from the same
variables: ``BARISTA_BROKER_URL`` (the demo's broker and the default backend) and
``BARISTA_KAFKA_URL`` / ``BARISTA_RABBITMQ_URL`` / ``BARISTA_REDIS_URL``.

The demo's topics are adopted at start: every name in ``BARISTA_SNS_TOPICS`` (comma
separated, ``order-events`` by default, empty for none) is registered on the default backend
if no topic of that name exists, so ``aws sns list-topics`` shows ``order-events`` and
``aws sns publish`` reaches the demo's subscribers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from broker_adapters import Broker, BrokerError, BrokerUnavailable, Features, UnsupportedSemantic
from orchestrator.errors import AwsError, ServiceUnavailable
from orchestrator.sns.attributes import invalid_parameter
from orchestrator.sns.model import BACKEND_TAG, BACKENDS, Subscription, Topic, name_from_arn
from orchestrator.sns.store import SnsStore
from orchestrator.sqs.brokers import BrokerPool, urls_from_environ

log = logging.getLogger("orchestrator.sns")
DEMO_TOPICS_VARIABLE = "BARISTA_SNS_TOPICS"
DEFAULT_DEMO_TOPICS = "order-events"


def not_found(message: str) -> AwsError:
    return AwsError("NotFound", message, status=404)


class SnsService:
    def __init__(
        self,
        store_path: Path,
        brokers: BrokerPool,
        default_backend: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store_path = Path(store_path)
        self.brokers = brokers
        self.default_backend = default_backend
        self.clock = clock

    @classmethod
    def from_environ(cls, store_path: Path, environ: Mapping[str, str]) -> SnsService:
        urls, default = urls_from_environ(environ)
        service = cls(store_path, BrokerPool(urls), default)
        names = environ.get(DEMO_TOPICS_VARIABLE, DEFAULT_DEMO_TOPICS)
        service.adopt([name.strip() for name in names.split(",") if name.strip()])
        return service

    def adopt(self, names: list[str]) -> None:
        """Register broker topics the demo already uses, on the default backend."""
        if self.default_backend is None:
            return
        with self.store() as store:
            for name in names:
                if store.topic(name) is None:
                    store.create_topic(
                        Topic(
                            name,
                            self.default_backend,
                            self.clock(),
                            tags={BACKEND_TAG: self.default_backend},
                        )
                    )

    @contextmanager
    def store(self) -> Iterator[SnsStore]:
        with SnsStore(self.store_path) as store:
            yield store

    def features(self, backend: str) -> Features:
        return self.brokers.features(backend)

    def backend_for(self, tags: Mapping[str, str]) -> str:
        chosen = tags.get(BACKEND_TAG) or self.default_backend
        if chosen is None:
            raise invalid_parameter(
                f"Tags Reason: {BACKEND_TAG} must name the topic's backend "
                f"({', '.join(BACKENDS)}): this orchestrator has no BARISTA_BROKER_URL to "
                "default to"
            )
        if chosen not in BACKENDS:
            raise invalid_parameter(
                f"Tags Reason: {BACKEND_TAG}={chosen} is not a backend: use one of "
                f"{', '.join(BACKENDS)}"
            )
        if not self.brokers.configured(chosen):
            raise invalid_parameter(
                f"Tags Reason: {BACKEND_TAG}={chosen}: no {chosen} broker is configured for "
                f"this orchestrator (BARISTA_BROKER_URL or BARISTA_{chosen.upper()}_URL)"
            )
        return chosen

    def topic(self, arn: object, member: str = "TopicArn") -> Topic:
        if not arn:
            raise invalid_parameter(f"{member} Reason: no value for required parameter")
        name = name_from_arn(arn)
        if name is None:
            raise invalid_parameter(
                f"{member} Reason: An ARN must have at least 6 elements, not {arn}"
            )
        with self.store() as store:
            topic = store.topic(name)
        if topic is None:
            raise not_found("Topic does not exist")
        return topic

    @contextmanager
    def broker(self, backend: str) -> Iterator[Broker]:
        """The backend's shared connection; broker errors as AWS's."""
        if not self.brokers.configured(backend):
            raise ServiceUnavailable(f"no {backend} broker is configured for this orchestrator")
        try:
            with self.brokers.use(backend) as broker:
                yield broker
        except UnsupportedSemantic as error:
            raise invalid_parameter(f"{backend} cannot do this: {error}") from error
        except BrokerUnavailable as error:
            raise ServiceUnavailable(f"{backend}: {error}") from error
        except BrokerError as error:
            raise ServiceUnavailable(f"{backend}: {error}") from error

    def open_subscription(self, topic: Topic, subscription: Subscription) -> None:
        """Create the durable broker subscription that keeps this subscription's messages
        from now on (its delivery loop consumes it)."""
        with self.broker(topic.backend) as broker:
            broker.subscribe(topic.name, subscription.broker_subscription, durable=True).close()

    def drop_subscription(self, topic: Topic, subscription: Subscription) -> None:
        if not subscription.confirmed:
            return
        try:
            with self.broker(topic.backend) as broker:
                broker.delete_subscription(topic.name, subscription.broker_subscription)
        except Exception as error:
            # Kafka refuses while the subscription's delivery worker is still in the group
            # (and raises its own KafkaException); the controller deletes it once the worker
            # has left.
            log.info("deleting broker subscription %s: %s", subscription.arn, error)

    def close(self) -> None:
        self.brokers.close()


_shared: dict[tuple[str, tuple[tuple[str, str], ...]], SnsService] = {}
_shared_lock = threading.Lock()


def shared(store_path: Path, environ: Mapping[str, str]) -> SnsService:
    """The process's one service for this store and broker set (the API's and the links')."""
    urls, _default = urls_from_environ(environ)
    key = (str(store_path), tuple(sorted(urls.items())))
    with _shared_lock:
        service = _shared.get(key)
        if service is None:
            service = SnsService.from_environ(store_path, environ)
            _shared[key] = service
        return service


def shutdown() -> None:
    """Close every shared service's broker connections."""
    with _shared_lock:
        services = list(_shared.values())
        _shared.clear()
    for service in services:
        service.close()
