"""The comparison as rows: one per measure, a cell per backend plus AWS SNS and AWS SQS.

Both outputs (the rich table and ``--output json``) are made from these rows, so they always
carry the same data. A backend cell holds what was observed, or "not supported" with the
adapter's reason, or the error; ``like`` says which AWS behaviour the observation matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.compare import crash, duplicates, fanout, ordering, poison, subscribers
from orchestrator.compare.aws import REFERENCE
from orchestrator.compare.observations import (
    BackendReport,
    CrashRedelivery,
    Duplicates,
    ExperimentName,
    Failed,
    FanOut,
    OfflineSubscriber,
    Ordering,
    PoisonMessage,
    Unsupported,
)
from orchestrator.compare.runner import NOT_RUN

Status = Literal["observed", "unsupported", "error", "not-run", "reference"]
JsonValue = Any  # int, float, bool, str, None or a list of them
NEITHER = "unlike SNS and SQS"


@dataclass(frozen=True)
class Cell:
    """One table cell: text for people, ``value`` for scripts, and how it came about."""

    text: str
    status: Status
    value: JsonValue = None
    like: str | None = None


@dataclass(frozen=True)
class Row:
    experiment: ExperimentName
    key: str
    measure: str
    cells: dict[str, Cell]


@dataclass(frozen=True)
class Measure:
    """How one row reads its value out of an experiment's observation."""

    experiment: ExperimentName
    key: str
    label: str
    # observation -> (text, value, like); a part the backend refused comes as Unsupported.
    read: Callable[[Any], tuple[str, JsonValue, str | None] | Unsupported]


def _fan_out_topic(o: FanOut) -> tuple[str, JsonValue, str | None]:
    counts = list(o.per_subscription)
    like = "like SNS" if all(count == o.published for count in counts) else NEITHER
    return " / ".join(map(str, counts)), counts, like


def _fan_out_queue(o: FanOut) -> tuple[str, JsonValue, str | None]:
    counts = list(o.per_consumer)
    text = f"{' + '.join(map(str, counts))} = {sum(counts)}"
    if o.queue_lost or o.queue_duplicates:
        text += f" ({o.queue_lost} lost, {o.queue_duplicates} duplicates)"
    shared = o.queue_lost == 0 and all(count > 0 for count in counts)
    return text, counts, "like SQS" if shared else NEITHER


def _missed(value: int | Unsupported, of: int, like_if_kept: str, like_if_lost: str) -> Any:
    if isinstance(value, Unsupported):
        return value
    like = like_if_kept if value == 0 else like_if_lost if value == of else "neither"
    return f"{value} of {of}", value, like


def _offline_durable(o: OfflineSubscriber) -> Any:
    return _missed(o.durable_missed, o.published_while_away, "like SNS → SQS queue", NEITHER)


def _offline_fire_and_forget(o: OfflineSubscriber) -> Any:
    return _missed(o.fire_and_forget_missed, o.published_while_away, NEITHER, "like SNS → HTTP/S")


def _ordering_single(o: Ordering) -> tuple[str, JsonValue, str | None]:
    kept = o.single_consumer_groups_in_order
    return (
        f"{kept} of {o.groups}",
        kept,
        "like SQS FIFO" if kept == o.groups else "like SQS standard",
    )


def _ordering_competing(o: Ordering) -> tuple[str, JsonValue, str | None]:
    kept = o.competing_groups_in_order
    fifo = kept == o.groups and o.competing_group_overlaps == 0
    return f"{kept} of {o.groups}", kept, "like SQS FIFO" if fifo else "like SQS standard"


def _ordering_overlaps(o: Ordering) -> tuple[str, JsonValue, str | None]:
    overlaps = o.competing_group_overlaps
    return str(overlaps), overlaps, "like SQS FIFO" if overlaps == 0 else "like SQS standard"


def _crash_redelivered(o: CrashRedelivery) -> tuple[str, JsonValue, str | None]:
    like = "like SQS" if o.redelivered == o.held else NEITHER
    return f"{o.redelivered} of {o.held}", o.redelivered, like


def _crash_after(o: CrashRedelivery) -> tuple[str, JsonValue, str | None]:
    if o.seconds_to_first is None:
        return "never (in the window)", None, NEITHER
    text = f"{o.seconds_to_first:.1f} s"
    if o.seconds_to_all is not None and o.seconds_to_all - o.seconds_to_first >= 0.05:
        text += f" (all: {o.seconds_to_all:.1f} s)"
    # SQS redelivers after the visibility timeout, neither at once nor much later.
    timed = o.visibility_timeout - 0.25 <= o.seconds_to_first <= o.visibility_timeout + 1.5
    return text, o.seconds_to_first, "like SQS" if timed else NEITHER


def _crash_attempt(o: CrashRedelivery) -> tuple[str, JsonValue, str | None]:
    attempts = sorted(set(o.attempts))
    if not attempts:
        return "-", [], None
    like = "like SQS" if attempts == [2] else NEITHER
    return ", ".join(map(str, attempts)), attempts, like


def _poison_receives(o: PoisonMessage) -> tuple[str, JsonValue, str | None]:
    count = o.receives_before_dead_letter
    like = "like SQS" if o.dead_lettered and count == o.max_receive_count else NEITHER
    return str(count), count, like


def _poison_dead_lettered(o: PoisonMessage) -> tuple[str, JsonValue, str | None]:
    return (
        ("yes" if o.dead_lettered else "no"),
        o.dead_lettered,
        "like SQS" if o.dead_lettered else NEITHER,
    )


def _poison_reason(o: PoisonMessage) -> tuple[str, JsonValue, str | None]:
    kept = o.reason_kept
    text = ("yes" if kept else "no") + (", and the source queue" if o.source_kept else "")
    return text, kept, "more than SQS keeps" if kept else "like SQS"


def _duplicates_dedup(o: Duplicates) -> Any:
    copies = o.dedup_copies_delivered
    if isinstance(copies, Unsupported):
        return copies
    return str(copies), copies, "like SQS FIFO" if copies == 1 else "like SQS standard"


def _duplicates_slow(o: Duplicates) -> tuple[str, JsonValue, str | None]:
    copies = o.slow_consumer_deliveries
    return str(copies), copies, "like SQS" if copies >= 2 else NEITHER


MEASURES: tuple[Measure, ...] = (
    Measure(
        "fan-out",
        "fan-out.topic",
        f"topic, 2 subscriptions: delivered to each (of {fanout.MESSAGES} published)",
        _fan_out_topic,
    ),
    Measure(
        "fan-out",
        "fan-out.queue",
        f"queue, 2 competing consumers: delivered to each (of {fanout.MESSAGES} sent)",
        _fan_out_queue,
    ),
    Measure(
        "offline-subscriber",
        "offline.durable",
        f"durable subscription: missed while away ({subscribers.WHILE_AWAY} published)",
        _offline_durable,
    ),
    Measure(
        "offline-subscriber",
        "offline.fire-and-forget",
        f"fire-and-forget subscription: missed while away ({subscribers.WHILE_AWAY} published)",
        _offline_fire_and_forget,
    ),
    Measure(
        "ordering",
        "ordering.single",
        f"one consumer: groups in order ({ordering.GROUPS} groups x {ordering.PER_GROUP})",
        _ordering_single,
    ),
    Measure(
        "ordering",
        "ordering.competing",
        "2 competing consumers: groups finished in order",
        _ordering_competing,
    ),
    Measure(
        "ordering",
        "ordering.overlaps",
        "2 competing consumers: a group's message taken while an earlier one was in flight",
        _ordering_overlaps,
    ),
    Measure(
        "crash-redelivery",
        "crash.redelivered",
        f"consumer SIGKILLed holding {crash.HELD}: redelivered",
        _crash_redelivered,
    ),
    Measure(
        "crash-redelivery",
        "crash.after",
        f"time from the kill to redelivery (visibility timeout {crash.VISIBILITY_TIMEOUT:g} s)",
        _crash_after,
    ),
    Measure(
        "crash-redelivery", "crash.attempt", "attempt count on the redelivered copy", _crash_attempt
    ),
    Measure(
        "poison-message",
        "poison.receives",
        "nacked every time: receives before the DLQ "
        f"(max_receive_count {poison.MAX_RECEIVE_COUNT})",
        _poison_receives,
    ),
    Measure("poison-message", "poison.dead-lettered", "reached the DLQ", _poison_dead_lettered),
    Measure("poison-message", "poison.reason", "the nack's reason kept on it", _poison_reason),
    Measure(
        "duplicates",
        "duplicates.dedup",
        "same dedup id sent twice: copies delivered",
        _duplicates_dedup,
    ),
    Measure(
        "duplicates",
        "duplicates.slow",
        f"held past a {duplicates.VISIBILITY_TIMEOUT:g} s visibility timeout: deliveries "
        f"in {duplicates.WINDOW:g} s",
        _duplicates_slow,
    ),
)


def _cell(report: BackendReport, measure: Measure) -> Cell:
    if report.error is not None:
        return Cell("no connection", "error", report.error)
    result = report.results.get(measure.experiment)
    if result is None:
        return Cell("not run", "not-run")
    if isinstance(result, Failed):
        if result.error.startswith(NOT_RUN):
            return Cell("not run: the broker stopped answering", "error", result.error)
        return Cell(f"error: {result.error}", "error", result.error)
    read = result if isinstance(result, Unsupported) else measure.read(result)
    if isinstance(read, Unsupported):
        return Cell(f"not supported: {read.reason}", "unsupported", read.reason)
    text, value, like = read
    return Cell(text, "observed", value, like)


def build_rows(reports: Sequence[BackendReport]) -> list[Row]:
    """One row per measure: the backends' cells, then AWS SNS and AWS SQS."""
    rows = []
    for measure in MEASURES:
        cells = {report.backend: _cell(report, measure) for report in reports}
        fact = REFERENCE[measure.key]
        cells["aws-sns"] = Cell(fact.sns, "reference")
        cells["aws-sqs"] = Cell(fact.sqs, "reference")
        rows.append(Row(measure.experiment, measure.key, measure.label, cells))
    return rows
