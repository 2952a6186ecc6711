"""One broker connection per backend, shared by every request and guarded by a lock.

Broker clients are not thread-safe (pika, librdkafka consumers), and the API runs handlers on
a thread pool, so every call on a backend's connection takes that backend's lock; calls are
short (long polls are sliced by the caller). Queues are declared on the connection before
first use in this process, with the redrive policy from the queue's record, as the adapters'
contract asks.

Which broker each backend is: ``BARISTA_BROKER_URL`` (the demo's broker, and the default
backend of new queues) plus, for the others, ``BARISTA_KAFKA_URL``, ``BARISTA_RABBITMQ_URL``
and ``BARISTA_REDIS_URL``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

from broker_adapters import Broker, Features, QueueConfig, backend_class, connect, features_of
from orchestrator.sqs.model import BACKENDS, SCHEME_BACKENDS

BACKEND_URL_VARIABLES = {
    "kafka": "BARISTA_KAFKA_URL",
    "rabbitmq": "BARISTA_RABBITMQ_URL",
    "redis": "BARISTA_REDIS_URL",
}


def backend_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    backend = SCHEME_BACKENDS.get(scheme)
    if backend is None:
        raise ValueError(f"broker URL scheme {scheme!r} names no backend")
    return backend


def urls_from_environ(environ: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """Broker URL per backend, and the default backend (that of BARISTA_BROKER_URL)."""
    urls: dict[str, str] = {}
    default = None
    main = environ.get("BARISTA_BROKER_URL")
    if main:
        default = backend_of(main)
        urls[default] = main
    for backend, variable in BACKEND_URL_VARIABLES.items():
        if environ.get(variable):
            urls[backend] = environ[variable]
    return urls, default


class BrokerPool:
    """Lazily opened connections, one per backend, each with its lock and declarations."""

    def __init__(
        self, urls: Mapping[str, str], opener: Callable[[str], Broker] | None = None
    ) -> None:
        self.urls = dict(urls)
        self._opener = opener
        self._brokers: dict[str, Broker] = {}
        self._locks = {backend: threading.RLock() for backend in BACKENDS}
        self._declared: dict[tuple[str, str], QueueConfig] = {}
        self._pool_lock = threading.Lock()

    def configured(self, backend: str) -> bool:
        return backend in self.urls

    def features(self, backend: str) -> Features:
        """What the backend declares, without connecting: in the mode its URL chooses (a Kafka
        URL with ``?queue_mode=share-group`` declares share-group queues)."""
        url = self.urls.get(backend)
        if url is not None:
            return features_of(url)
        scheme = next(s for s, name in SCHEME_BACKENDS.items() if name == backend)
        return backend_class(scheme).features

    @contextmanager
    def use(self, backend: str) -> Iterator[Broker]:
        """The backend's connection, exclusively for the ``with`` block."""
        with self._locks[backend]:
            yield self._broker(backend)

    def _broker(self, backend: str) -> Broker:
        with self._pool_lock:
            broker = self._brokers.get(backend)
        if broker is None:
            broker = (self._opener or connect)(self.urls[backend])
            with self._pool_lock:
                self._brokers[backend] = broker
        return broker

    def ensure_declared(
        self, broker: Broker, backend: str, queue: str, config: QueueConfig
    ) -> None:
        """Declare once per process and config (call inside ``use``)."""
        if self._declared.get((backend, queue)) == config:
            return
        broker.declare_queue(queue, config)
        self._declared[(backend, queue)] = config

    def forget(self, backend: str, queue: str) -> None:
        self._declared.pop((backend, queue), None)

    def close(self) -> None:
        with self._pool_lock:
            brokers = list(self._brokers.items())
            self._brokers.clear()
        for backend, broker in brokers:
            with self._locks[backend]:
                broker.close()
        self._declared.clear()
