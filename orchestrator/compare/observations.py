"""What the comparison observed, as typed values: one dataclass per experiment.

Experiments return these; ``rows`` turns them into table rows and JSON. A semantic the
backend declares it lacks is recorded as ``Unsupported`` with the adapter's own words, never
as a number, so nothing in the table is a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ExperimentName = Literal[
    "fan-out", "offline-subscriber", "ordering", "crash-redelivery", "poison-message", "duplicates"
]
# Run and shown in this order.
EXPERIMENTS: tuple[ExperimentName, ...] = (
    "fan-out",
    "offline-subscriber",
    "ordering",
    "crash-redelivery",
    "poison-message",
    "duplicates",
)


@dataclass(frozen=True)
class Unsupported:
    """The adapter refused the semantic (UnsupportedSemantic); ``reason`` is its message."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """The experiment could not finish (broker error, timeout); ``error`` says why."""

    error: str


@dataclass(frozen=True)
class FanOut:
    """A topic with two subscriptions vs a queue with two competing consumers."""

    published: int
    # Deliveries each subscription received (duplicates included).
    per_subscription: tuple[int, ...]
    sent: int
    # Deliveries each competing consumer received (duplicates included).
    per_consumer: tuple[int, ...]
    # Queue messages no consumer received, and deliveries beyond one per message.
    queue_lost: int
    queue_duplicates: int


@dataclass(frozen=True)
class OfflineSubscriber:
    """Messages each kind of subscription missed while its subscriber was away."""

    published_while_away: int
    durable_missed: int | Unsupported
    fire_and_forget_missed: int | Unsupported


@dataclass(frozen=True)
class Ordering:
    """Order within message groups, for one consumer and for two competing consumers."""

    groups: int
    messages_per_group: int
    single_consumer_groups_in_order: int
    competing_groups_in_order: int
    # Receives of a message while an earlier message of its group was still in flight
    # (SQS FIFO never does this: an in-flight message blocks its group).
    competing_group_overlaps: int


@dataclass(frozen=True)
class CrashRedelivery:
    """Messages held, unacked, by a consumer process that was SIGKILLed."""

    held: int
    redelivered: int
    # From the kill to the first / the last redelivered message arriving at a new consumer.
    seconds_to_first: float | None
    seconds_to_all: float | None
    # Message.attempt of each redelivered copy.
    attempts: tuple[int, ...]
    visibility_timeout: float


@dataclass(frozen=True)
class PoisonMessage:
    """A message nacked on every receive, with a redrive policy to a dead-letter queue."""

    max_receive_count: int
    # Message.attempt of each receive from the source queue, in order.
    receive_attempts: tuple[int, ...]
    dead_lettered: bool
    reason_kept: bool
    source_kept: bool

    @property
    def receives_before_dead_letter(self) -> int:
        return len(self.receive_attempts)


@dataclass(frozen=True)
class Duplicates:
    """Copies delivered: one dedup id sent twice, and one message held past its visibility."""

    dedup_copies_delivered: int | Unsupported
    slow_consumer_deliveries: int
    visibility_timeout: float
    # How long after the first delivery the consumers kept listening for another copy.
    window: float


Observation = FanOut | OfflineSubscriber | Ordering | CrashRedelivery | PoisonMessage | Duplicates
Result = Observation | Unsupported | Failed


@dataclass
class BackendReport:
    """Everything observed on one backend, with how long each experiment took."""

    backend: str
    url: str  # password redacted
    features: dict[str, object] = field(default_factory=dict)
    results: dict[ExperimentName, Result] = field(default_factory=dict)
    seconds: dict[ExperimentName, float] = field(default_factory=dict)
    # Set when the backend could not be reached or connected to at all.
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the backend ran every experiment it was asked to without a failure."""
        return self.error is None and not any(
            isinstance(result, Failed) for result in self.results.values()
        )
