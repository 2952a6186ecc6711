"""The state every SQS operation shares: the store, the broker connections, the receipts.

One ``SqsService`` per orchestrator process. Its reaper thread gives back deliveries whose
visibility ran out (a nack, so the broker counts the receive toward the redrive policy),
which is how queues on backends without a visibility timeout of their own get one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broker_adapters import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    QueueConfig,
    QueueNotDeclared,
    RedrivePolicy,
    UnsupportedSemantic,
)
from orchestrator.errors import AwsError
from orchestrator.sqs import attributes
from orchestrator.sqs.brokers import BrokerPool
from orchestrator.sqs.errors import invalid_attribute_value, queue_does_not_exist, unavailable
from orchestrator.sqs.model import (
    BACKEND_TAG,
    FIFO_SUFFIX,
    Queue,
    name_from_url,
    queue_arn,
    queue_url,
    valid_name,
)
from orchestrator.sqs.receipts import Held, Receipts
from orchestrator.sqs.store import SqsStore

log = logging.getLogger("orchestrator.sqs")
REAP_INTERVAL = 0.2
# A queue nobody received from for this long, with nothing held, is released on its broker
# (Broker.release_queue): on Kafka that leaves the consumer group, which would otherwise wait
# for this idle member at every rebalance and keep a barista from joining.
IDLE_RELEASE = 1.0
DEFAULT_ENDPOINT = "http://127.0.0.1:8500"


@dataclass
class FirstReceives:
    """ApproximateFirstReceiveTimestamp per message id, as far as this process saw it."""

    limit: int = 100_000
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first(self, message_id: str, attempt: int, now: float) -> float:
        with self._lock:
            if attempt <= 1 or message_id not in self._seen:
                if len(self._seen) >= self.limit:
                    self._seen.pop(next(iter(self._seen)))
                self._seen.setdefault(message_id, now)
            return self._seen[message_id]

    def forget(self, message_id: str) -> None:
        with self._lock:
            self._seen.pop(message_id, None)


@dataclass
class ReceiveAttempts:
    """FIFO queues' ReceiveRequestAttemptId, as SQS keeps it: a receive retried with the same
    id within five minutes answers the messages the first one returned, as long as none of
    them was deleted or had its visibility changed since (else it receives anew). In memory,
    like the receipts it refers to."""

    window: float = 5 * 60.0
    _seen: dict[tuple[str, str], tuple[float, list[tuple[str, float]], list[Any]]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, receipts: Receipts, queue: str, attempt: str, now: float) -> list[Any] | None:
        """The earlier answer to this attempt, if it may be given again."""
        with self._lock:
            for key, (at, _, _) in list(self._seen.items()):
                if now - at > self.window:
                    del self._seen[key]
            found = self._seen.get((queue, attempt))
        if found is None:
            return None
        _, held, answer = found
        for handle, deadline in held:
            live = receipts.get(handle)
            if live is None or live.deadline != deadline:
                return None
        return answer

    def remember(
        self, receipts: Receipts, queue: str, attempt: str, now: float, answer: list[Any]
    ) -> None:
        held = []
        for message in answer:
            live = receipts.get(message["ReceiptHandle"])
            if live is not None:
                held.append((live.handle, live.deadline))
        with self._lock:
            self._seen[(queue, attempt)] = (now, held, answer)


class SqsService:
    def __init__(
        self,
        store_path: Path,
        brokers: BrokerPool,
        default_backend: str | None,
        endpoint: str = DEFAULT_ENDPOINT,
        clock: Callable[[], float] = time.time,
        demo_queues: tuple[str, ...] = (),
    ) -> None:
        self.store_path = store_path
        # Queues the workers declare on the default broker (BARISTA_SQS_QUEUES), adopted when
        # queues are listed, so ListQueues shows them before anyone asked for one by name.
        self.demo_queues = demo_queues
        self.brokers = brokers
        self.default_backend = default_backend
        self.endpoint = endpoint
        self.clock = clock
        self.receipts = Receipts()
        self.first_receives = FirstReceives()
        self.purges: dict[str, float] = {}
        self.receive_attempts = ReceiveAttempts()
        self._receiving: dict[tuple[str, str], float] = {}
        self._receiving_lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap_forever, name="sqs-reaper", daemon=True)
        self._reaper.start()

    # Records

    @contextmanager
    def store(self) -> Iterator[SqsStore]:
        with SqsStore(self.store_path) as store:
            yield store

    def url(self, name: str, endpoint: str | None = None) -> str:
        return queue_url(name, endpoint or self.endpoint)

    def lookup(self, queue_url_or_name: object) -> Queue:
        """The queue a QueueUrl names, or QueueDoesNotExist."""
        if not isinstance(queue_url_or_name, str) or not queue_url_or_name:
            raise AwsError("MissingParameter", "The request must contain the parameter QueueUrl.")
        name = name_from_url(queue_url_or_name)
        if name is None:
            raise queue_does_not_exist(queue_url_or_name)
        queue = self.find(name)
        if queue is None:
            raise queue_does_not_exist(name)
        return queue

    def find(self, name: str) -> Queue | None:
        """The queue's record, adopting a queue that exists only on the default broker."""
        with self.store() as store:
            queue = store.get(name)
        return queue if queue is not None else self.adopt(name)

    def adopt(self, name: str, depth: int = 0) -> Queue | None:
        """Record a queue that workers declared on the default backend (the demo's
        ``orders``), with the redrive policy the broker keeps (its dead-letter queue is
        adopted too), so the API sees the queue a barista uses. None if there is none."""
        backend = self.default_backend
        if backend is None or depth > 1 or not valid_name(name):
            return None
        try:
            with self.brokers.use(backend) as broker:
                config = broker.describe_queue(name)
        except BrokerError as error:
            log.warning("looking for queue %s on %s: %s", name, backend, error)
            return None
        if config is None or config.fifo != name.endswith(FIFO_SUFFIX):
            return None
        adopted = dict(attributes.DEFAULTS)
        if config.fifo:
            adopted |= {
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "DeduplicationScope": "queue",
                "FifoThroughputLimit": "perQueue",
            }
        low, high = attributes.RANGES["VisibilityTimeout"]
        adopted["VisibilityTimeout"] = str(min(high, max(low, round(config.visibility_timeout))))
        policy = config.redrive_policy
        if policy is not None and self.find_or_adopt(policy.dead_letter_queue, depth + 1):
            adopted["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": queue_arn(policy.dead_letter_queue),
                    "maxReceiveCount": policy.max_receive_count,
                },
                separators=(",", ":"),
            )
        now = self.clock()
        queue = Queue(name, backend, now, now, adopted, {BACKEND_TAG: backend})
        with self.store() as store:
            store.create(queue)
            return store.get(name)

    def find_or_adopt(self, name: str, depth: int) -> Queue | None:
        with self.store() as store:
            queue = store.get(name)
        return queue if queue is not None else self.adopt(name, depth)

    # Brokers

    def queue_config(self, queue: Queue) -> QueueConfig:
        policy = attributes.redrive(queue.attributes)
        return QueueConfig(
            fifo=queue.fifo,
            visibility_timeout=float(queue.attributes["VisibilityTimeout"]),
            redrive_policy=(
                RedrivePolicy(policy.dead_letter_queue, policy.max_receive_count)
                if policy
                else None
            ),
        )

    @contextmanager
    def broker(self, queue: Queue, *, declare: bool = True) -> Iterator[Broker]:
        """The queue's backend connection, the queue declared on it; broker errors as AWS's."""
        if not self.brokers.configured(queue.backend):
            raise unavailable(
                f"queue {queue.name} lives on {queue.backend}, and no {queue.backend} broker is "
                "configured for this orchestrator"
            )
        try:
            with self.brokers.use(queue.backend) as broker:
                if declare:
                    self.brokers.ensure_declared(
                        broker, queue.backend, queue.name, self.queue_config(queue)
                    )
                yield broker
        except BrokerUnavailable as error:
            raise unavailable(f"{queue.backend}: {error}") from error
        except UnsupportedSemantic as error:
            raise invalid_attribute_value(f"{queue.backend} cannot do this: {error}") from error
        except QueueNotDeclared as error:
            self.brokers.forget(queue.backend, queue.name)
            raise AwsError(
                "QueueDoesNotExist",
                f"The queue {queue.name} is gone from {queue.backend}: {error}",
            ) from error
        except BrokerError as error:
            raise unavailable(f"{queue.backend}: {error}") from error

    # Visibility

    def receiving(self, queue: Queue) -> None:
        """Note that this process is consuming ``queue`` now (see ``IDLE_RELEASE``)."""
        with self._receiving_lock:
            self._receiving[(queue.backend, queue.name)] = time.monotonic()

    def _reap_forever(self) -> None:
        while not self._stopping.wait(REAP_INTERVAL):
            for held in self.receipts.expired():
                self.give_back(held)
            self._release_idle()

    def _release_idle(self) -> None:
        now = time.monotonic()
        with self._receiving_lock:
            idle = [key for key, last in self._receiving.items() if now - last > IDLE_RELEASE]
        for backend, name in idle:
            if self.receipts.of_queue(name, backend):
                continue
            try:
                with self.brokers.use(backend) as broker:
                    with self._receiving_lock:
                        last = self._receiving.get((backend, name))
                        if last is None or time.monotonic() - last <= IDLE_RELEASE:
                            continue
                        del self._receiving[(backend, name)]
                    broker.release_queue(name)
            except BrokerError as error:
                log.warning("releasing %s on %s: %s", name, backend, error)

    def give_back(self, held: Held) -> None:
        """Make a held message receivable again (its visibility ended)."""
        try:
            with self.brokers.use(held.backend):
                held.delivery.nack(requeue=True, reason="visibility timeout expired")
        except BrokerError as error:
            log.warning("giving back %s on %s: %s", held.queue, held.backend, error)

    def close(self) -> None:
        """Stop the reaper, give back what is held, close the connections."""
        self._stopping.set()
        self._reaper.join(timeout=5)
        for held in self.receipts.all():
            self.give_back(held)
        self.brokers.close()
