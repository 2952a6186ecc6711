"""Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

A task moves the messages of a dead-letter queue back to the queue each came from (the
``barista-dead-letter-source`` header the adapters put on every dead-lettered message) or to
one destination. Each message is sent to its destination, confirmed, and only then deleted
from the dead-letter queue, so a crash in between duplicates a message, never loses one.
Tasks run on a thread of this orchestrator and are listed from memory: an orchestrator restart
ends a running task (what it moved stays moved) and forgets finished ones.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from broker_adapters import OutgoingMessage, wire
from broker_adapters.core import DEAD_LETTER_SOURCE
from orchestrator.errors import AwsError
from orchestrator.sqs import attributes
from orchestrator.sqs.model import Queue, name_from_arn, queue_arn
from orchestrator.sqs.service import SqsService

log = logging.getLogger("orchestrator.sqs.moves")
MAX_RATE = 500
MAX_LISTED = 10


@dataclass
class MoveTask:
    handle: str
    source: Queue
    destination: Queue | None
    rate: int | None
    started: float
    to_move: int
    status: str = "RUNNING"
    moved: int = 0
    failure: str | None = None

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source.arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": int(self.started * 1000),
        }
        if self.status == "RUNNING":
            entry["TaskHandle"] = self.handle
        if self.destination is not None:
            entry["DestinationArn"] = self.destination.arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure:
            entry["FailureReason"] = self.failure
        return entry


_tasks: dict[str, MoveTask] = {}
_lock = threading.Lock()


def _not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def _queue_of_arn(service: SqsService, arn: object, member: str) -> Queue:
    name = name_from_arn(arn) if isinstance(arn, str) else None
    if name is None:
        raise AwsError("InvalidParameterValue", f"{member} must be an SQS queue ARN.")
    with service.store() as store:
        queue = store.get(name)
    if queue is None:
        raise _not_found(
            f"The resource that you specified for the {member} parameter doesn't exist."
        )
    return queue


def start(
    service: SqsService, source_arn: object, destination_arn: object, rate: int | None
) -> str:
    source = _queue_of_arn(service, source_arn, "SourceArn")
    with service.store() as store:
        sources = [
            queue
            for queue in store.all()
            if (policy := attributes.redrive(queue.attributes)) is not None
            and policy.dead_letter_queue == source.name
        ]
    if not sources:
        raise AwsError(
            "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue."
        )
    destination = (
        _queue_of_arn(service, destination_arn, "DestinationArn") if destination_arn else None
    )
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise AwsError(
            "InvalidParameterValue", f"MaxNumberOfMessagesPerSecond must be 1..{MAX_RATE}."
        )
    with _lock:
        if any(t.source.name == source.name and t.status == "RUNNING" for t in _tasks.values()):
            raise AwsError(
                "UnsupportedOperation", "There is already a task running on this source queue."
            )
        with service.broker(source) as broker:
            to_move = broker.backlog(source.name).visible
        task = MoveTask(uuid.uuid4().hex, source, destination, rate, service.clock(), to_move)
        _tasks[task.handle] = task
    threading.Thread(
        target=_run, args=(service, task), name=f"sqs-move-{source.name}", daemon=True
    ).start()
    return task.handle


def _run(service: SqsService, task: MoveTask) -> None:
    try:
        while task.status == "RUNNING":
            with service.broker(task.source) as broker:
                deliveries = broker.receive(task.source.name, 10, wait=1.0)
            if not deliveries:
                break
            for delivery in deliveries:
                if task.status != "RUNNING":
                    with service.broker(task.source, declare=False):
                        delivery.nack(requeue=True)
                    continue
                target = task.destination or _origin(service, delivery.message.headers)
                message = delivery.message
                headers = {
                    name: value
                    for name, value in message.headers.items()
                    if not name.startswith(wire.PREFIX)
                }
                outgoing = OutgoingMessage(
                    message.body,
                    group_id=message.group_id,
                    trace_id=message.trace_id,
                    headers=headers,
                )
                with service.broker(target) as broker:
                    broker.send_batch(target.name, [outgoing])
                with service.broker(task.source, declare=False):
                    delivery.ack()
                task.moved += 1
                if task.rate:
                    time.sleep(1 / task.rate)
        if task.status == "RUNNING":
            task.status = "COMPLETED"
        elif task.status == "CANCELLING":
            task.status = "CANCELLED"
    except Exception as error:  # a task's failure is its status, not a crash
        log.warning("message move task %s failed: %s", task.handle, error)
        task.status = "FAILED"
        task.failure = str(error)


def _origin(service: SqsService, headers: Any) -> Queue:
    name = headers.get(DEAD_LETTER_SOURCE)
    if not name:
        raise AwsError(
            "InvalidParameterValue",
            "A message in the dead-letter queue names no source queue; give a DestinationArn.",
        )
    return _queue_of_arn(service, queue_arn(name), "DestinationArn")


def list_tasks(service: SqsService, source_arn: object, max_results: int | None) -> list[Any]:
    source = _queue_of_arn(service, source_arn, "SourceArn")
    limit = max_results or 1
    if not 1 <= limit <= MAX_LISTED:
        raise AwsError("InvalidParameterValue", f"MaxResults must be 1..{MAX_LISTED}.")
    with _lock:
        found = [t for t in _tasks.values() if t.source.name == source.name]
    found.sort(key=lambda t: t.started, reverse=True)
    return [task.entry() for task in found[:limit]]


def cancel(service: SqsService, handle: object) -> int:
    del service
    with _lock:
        task = _tasks.get(handle) if isinstance(handle, str) else None
    if task is None or task.status != "RUNNING":
        raise _not_found("The task handle doesn't name a running task.")
    task.status = "CANCELLING"
    return task.moved
