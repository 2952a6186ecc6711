"""What AWS SNS and SQS do for each measure of the comparison: the reference columns.

One entry per measure key of ``rows.MEASURES`` (a unit test keeps the two in step). Each
fact is short enough for a table cell and names the AWS documentation it comes from
(see also docs/aws-defaults.md). "standard" and "FIFO" are given apart where they differ.
"""

from __future__ import annotations

from dataclasses import dataclass

SNS_GUIDE = "Amazon SNS Developer Guide"
SQS_GUIDE = "Amazon SQS Developer Guide"


@dataclass(frozen=True)
class AwsFact:
    """What SNS and SQS would do for one measure, and where that is documented."""

    sns: str
    sqs: str
    sources: tuple[str, ...]


NOT_APPLICABLE_SNS = "n/a: SNS pushes to subscriptions, it has no consumers"

REFERENCE: dict[str, AwsFact] = {
    "fan-out.topic": AwsFact(
        sns="all N to every subscription (fan-out)",
        sqs="n/a: a queue has no subscriptions (SNS → one queue per subscriber)",
        sources=(f"{SNS_GUIDE}: Fanout to Amazon SQS queues",),
    ),
    "fan-out.queue": AwsFact(
        sns=NOT_APPLICABLE_SNS,
        sqs="split: each message to one consumer, sum = N (standard: a rare duplicate)",
        sources=(f"{SQS_GUIDE}: Amazon SQS standard queues (at-least-once delivery)",),
    ),
    "offline.durable": AwsFact(
        sns="0: an SQS-queue subscription keeps them (retention 4 days by default)",
        sqs="0: messages wait in the queue for its retention period (4 days by default)",
        sources=(
            f"{SNS_GUIDE}: Fanout to Amazon SQS queues",
            f"{SQS_GUIDE}: MessageRetentionPeriod",
        ),
    ),
    "offline.fire-and-forget": AwsFact(
        sns=(
            "all N for an HTTP/S endpoint that stays down: 3 retries 20 s apart, "
            "then dropped (unless a subscription DLQ)"
        ),
        sqs="n/a: a queue has no fire-and-forget consumers",
        sources=(f"{SNS_GUIDE}: Amazon SNS message delivery retries",),
    ),
    "ordering.single": AwsFact(
        sns="standard: no order; FIFO topic: in order per message group",
        sqs="standard: best-effort order; FIFO: in order per MessageGroupId",
        sources=(f"{SNS_GUIDE}: Message ordering (FIFO topics)", f"{SQS_GUIDE}: FIFO queues"),
    ),
    "ordering.competing": AwsFact(
        sns="FIFO topic → SQS FIFO queues: in order per group",
        sqs="standard: not guaranteed; FIFO: every group in order",
        sources=(f"{SQS_GUIDE}: FIFO queue delivery logic",),
    ),
    "ordering.overlaps": AwsFact(
        sns=NOT_APPLICABLE_SNS,
        sqs="standard: can happen; FIFO: 0 (an in-flight message blocks its group)",
        sources=(f"{SQS_GUIDE}: Using the message group ID with FIFO queues",),
    ),
    "crash.redelivered": AwsFact(
        sns="n/a: the subscription's SQS queue redelivers",
        sqs="all of them, once their visibility timeout ends",
        sources=(f"{SQS_GUIDE}: Visibility timeout",),
    ),
    "crash.after": AwsFact(
        sns="n/a",
        sqs="the visibility timeout: 30 s by default (0 s-12 h)",
        sources=(f"{SQS_GUIDE}: Visibility timeout",),
    ),
    "crash.attempt": AwsFact(
        sns="n/a",
        sqs="2 (ApproximateReceiveCount counts every receive)",
        sources=(f"{SQS_GUIDE}: ReceiveMessage, ApproximateReceiveCount",),
    ),
    "poison.receives": AwsFact(
        sns="n/a: SNS dead-letters what it could not deliver, after its retries",
        sqs="maxReceiveCount receives, then moved to the DLQ",
        sources=(f"{SQS_GUIDE}: Using dead-letter queues (RedrivePolicy)",),
    ),
    "poison.dead-lettered": AwsFact(
        sns="yes, to the subscription's DLQ (an SQS queue) after failed deliveries",
        sqs="yes, to the RedrivePolicy's deadLetterTargetArn",
        sources=(
            f"{SNS_GUIDE}: Amazon SNS dead-letter queues",
            f"{SQS_GUIDE}: Using dead-letter queues",
        ),
    ),
    "poison.reason": AwsFact(
        sns="no reason attribute documented (NumberOfNotificationsRedrivenToDlq counts them)",
        sqs="no: only the source (DeadLetterQueueSourceArn attribute)",
        sources=(
            f"{SNS_GUIDE}: Amazon SNS dead-letter queues",
            f"{SQS_GUIDE}: ReceiveMessage, MessageSystemAttributeName",
        ),
    ),
    "duplicates.dedup": AwsFact(
        sns="standard: no dedup id (2 copies); FIFO topic: 1 (5-minute window)",
        sqs="standard: no dedup id (2 copies); FIFO: 1 (5-minute window)",
        sources=(f"{SQS_GUIDE}: Exactly-once processing (FIFO), MessageDeduplicationId",),
    ),
    "duplicates.slow": AwsFact(
        sns=NOT_APPLICABLE_SNS,
        sqs="2: visible again after the timeout, so another receive gets it (standard and FIFO)",
        sources=(f"{SQS_GUIDE}: Visibility timeout",),
    ),
}


def sources() -> list[str]:
    """Every documentation source cited, once, in first-cited order (for the table's notes)."""
    seen: dict[str, None] = {}
    for fact in REFERENCE.values():
        for source in fact.sources:
            seen.setdefault(source, None)
    return list(seen)
