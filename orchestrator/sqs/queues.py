"""Queue actions: create, find, list, attributes, tags, purge, delete, dead-letter sources.

Each queue lives on one backend, chosen at creation by the ``barista:backend`` tag (default:
the backend of ``BARISTA_BROKER_URL``) and never moved. The broker queue has the SQS queue's
name, so the queue made here is the one a barista or the broker's own client uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

from broker_adapters import BrokerError, BrokerUnavailable
from orchestrator.errors import AwsError
from orchestrator.sqs import attributes
from orchestrator.sqs.errors import (
    invalid_attribute_name,
    invalid_attribute_value,
    invalid_parameter,
    queue_does_not_exist,
)
from orchestrator.sqs.model import BACKEND_TAG, BACKENDS, Queue, name_from_arn, valid_name
from orchestrator.sqs.service import SqsService
from orchestrator.sqs.store import SqsStore

PURGE_INTERVAL = 60.0
MAX_TAGS = 50
COUNTED = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _backend(service: SqsService, tags: Mapping[str, str]) -> str:
    chosen = tags.get(BACKEND_TAG) or service.default_backend
    if chosen is None:
        raise invalid_parameter(
            f"Tag {BACKEND_TAG} must name the queue's backend ({', '.join(BACKENDS)}): "
            "this orchestrator has no BARISTA_BROKER_URL to default to."
        )
    if chosen not in BACKENDS:
        raise invalid_parameter(
            f"Tag {BACKEND_TAG}={chosen} is not a backend: use one of {', '.join(BACKENDS)}."
        )
    if not service.brokers.configured(chosen):
        raise invalid_parameter(
            f"Tag {BACKEND_TAG}={chosen}: no {chosen} broker is configured for this "
            f"orchestrator (BARISTA_BROKER_URL or BARISTA_{chosen.upper()}_URL)."
        )
    return chosen


def _check_redrive(store: SqsStore, queue: Queue) -> None:
    """The dead-letter queue exists, on the same backend, of the same type, and allows us."""
    policy = attributes.redrive(queue.attributes)
    if policy is None:
        return
    target = store.get(policy.dead_letter_queue)
    reason = None
    if target is None:
        reason = "Dead letter target does not exist."
    elif policy.dead_letter_queue == queue.name:
        reason = "A queue cannot be its own dead letter queue."
    elif target.backend != queue.backend:
        reason = (
            f"Dead letter target lives on {target.backend}, this queue on {queue.backend}: "
            "broker_adapters dead-letters within one broker."
        )
    elif target.fifo != queue.fifo:
        reason = "Dead-letter target must be the same type of queue (standard or FIFO)."
    elif not attributes.allows_source(target.attributes, queue.arn):
        reason = "Dead letter target's RedriveAllowPolicy does not allow this queue."
    if reason:
        raise invalid_attribute_value(
            f"Value {queue.attributes['RedrivePolicy']} for parameter RedrivePolicy is invalid. "
            f"Reason: {reason}"
        )


def _declare(service: SqsService, queue: Queue) -> None:
    """Create (or re-declare) the broker queue; AMQP refuses changed arguments: say so."""
    service.brokers.forget(queue.backend, queue.name)
    with service.broker(queue, declare=False) as broker:
        config = service.queue_config(queue)
        try:
            service.brokers.ensure_declared(broker, queue.backend, queue.name, config)
        except BrokerUnavailable:
            raise
        except BrokerError as error:
            raise invalid_attribute_value(
                f"{queue.backend} refused the queue's settings: {error}"
            ) from error


def create_queue(
    service: SqsService,
    name: object,
    given: Mapping[str, str],
    tags: Mapping[str, str],
    endpoint: str | None = None,
) -> str:
    if not isinstance(name, str) or not valid_name(name):
        raise invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
            "length (a FIFO queue's name ends with .fifo)."
        )
    backend = _backend(service, tags)
    features = service.brokers.features(backend)
    validated = attributes.validate(given, features, queue_name=name)
    now = service.clock()
    queue = Queue(name, backend, now, now, validated, {**tags, BACKEND_TAG: backend})
    existing = service.find(name)
    with service.store() as store:
        if existing is not None:
            if existing.attributes != validated or existing.backend != backend:
                raise AwsError(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for an "
                    "attribute or for the barista:backend tag.",
                )
            return service.url(name, endpoint)
        _check_redrive(store, queue)
    _declare(service, queue)
    with service.store() as store:
        if not store.create(queue):
            existing = store.get(name)
            if existing is None or existing.attributes != validated:
                raise AwsError("QueueNameExists", "A queue already exists with the same name.")
    return service.url(name, endpoint)


def get_queue_url(service: SqsService, name: object, endpoint: str | None = None) -> str:
    if not isinstance(name, str) or not name:
        raise AwsError("MissingParameter", "The request must contain the parameter QueueName.")
    if service.find(name) is None:
        raise queue_does_not_exist(name)
    return service.url(name, endpoint)


def list_queues(
    service: SqsService,
    prefix: str | None,
    max_results: int | None,
    next_token: str | None,
    endpoint: str | None = None,
) -> tuple[list[str], str | None]:
    for name in service.demo_queues:
        service.find(name)  # adopted, with its dead-letter queue, if a worker declared it
    with service.store() as store:
        names = [q.name for q in store.all() if not prefix or q.name.startswith(prefix)]
    return page(service, names, max_results, next_token, endpoint)


def page(
    service: SqsService,
    names: list[str],
    max_results: int | None,
    next_token: str | None,
    endpoint: str | None,
) -> tuple[list[str], str | None]:
    if max_results is not None and not 1 <= max_results <= 1000:
        raise invalid_parameter("MaxResults must be an integer between 1 and 1000.")
    if next_token:
        names = [name for name in names if name > next_token]
    limit = max_results or 1000
    page = names[:limit]
    token = page[-1] if max_results is not None and len(names) > limit else None
    return [service.url(name, endpoint) for name in page], token


def get_queue_attributes(service: SqsService, queue: Queue, names: Sequence[str]) -> dict[str, str]:
    known = {
        *attributes.SETTABLE,
        *attributes.READ_ONLY,
        "All",
        *attributes.UNSUPPORTED,
    }
    for name in names:
        if name not in known:
            raise invalid_attribute_name(f"Unknown Attribute {name}.")
    wanted = set(names)
    everything = "All" in wanted
    result = dict(queue.attributes)
    result |= {
        "QueueArn": queue.arn,
        "CreatedTimestamp": str(int(queue.created)),
        "LastModifiedTimestamp": str(int(queue.last_modified)),
    }
    if everything or wanted & set(COUNTED):
        result |= _counts(service, queue)
    if everything:
        return result
    return {name: result[name] for name in names if name in result}


def _counts(service: SqsService, queue: Queue) -> dict[str, str]:
    """From the broker's backlog; where it cannot split off in-flight messages (Kafka), the
    messages this orchestrator holds are the in-flight count."""
    with service.broker(queue) as broker:
        backlog = broker.backlog(queue.name)
    visible, in_flight = backlog.visible, backlog.in_flight
    if not service.brokers.features(queue.backend).backlog_splits_in_flight:
        held = len(service.receipts.of_queue(queue.name, queue.backend))
        visible, in_flight = max(0, visible - held), held
    return {
        "ApproximateNumberOfMessages": str(visible),
        "ApproximateNumberOfMessagesNotVisible": str(in_flight),
        "ApproximateNumberOfMessagesDelayed": str(backlog.delayed),
    }


def set_queue_attributes(service: SqsService, queue: Queue, given: Mapping[str, str]) -> None:
    features = service.brokers.features(queue.backend)
    validated = attributes.validate(
        given, features, queue_name=queue.name, current=queue.attributes
    )
    changed = replace(queue, attributes=validated, last_modified=service.clock())
    with service.store() as store:
        _check_redrive(store, changed)
    if attributes.redrive(validated) != attributes.redrive(queue.attributes):
        _declare(service, changed)
    with service.store() as store:
        store.put(changed)


def tag_queue(service: SqsService, queue: Queue, tags: Mapping[str, str]) -> None:
    if BACKEND_TAG in tags and tags[BACKEND_TAG] != queue.backend:
        raise invalid_parameter(
            f"Tag {BACKEND_TAG} is fixed at creation: this queue lives on {queue.backend}."
        )
    merged = {**queue.tags, **tags}
    if len(merged) > MAX_TAGS:
        raise invalid_parameter(f"A queue can have at most {MAX_TAGS} tags.")
    with service.store() as store:
        store.put(replace(queue, tags=merged))


def untag_queue(service: SqsService, queue: Queue, keys: Sequence[str]) -> None:
    if BACKEND_TAG in keys:
        raise invalid_parameter(f"Tag {BACKEND_TAG} is fixed at creation and cannot be removed.")
    with service.store() as store:
        store.put(replace(queue, tags={k: v for k, v in queue.tags.items() if k not in keys}))


def delete_queue(service: SqsService, queue: Queue) -> None:
    for held in service.receipts.drop_queue(queue.name, queue.backend):
        service.first_receives.forget(held.delivery.message.id)
    try:
        with service.broker(queue, declare=False) as broker:
            broker.delete_queue(queue.name)
    finally:
        service.brokers.forget(queue.backend, queue.name)
    with service.store() as store:
        store.delete(queue.name)


def purge_queue(service: SqsService, queue: Queue) -> int:
    """Delete the queue's messages: those visible now and those this orchestrator holds.

    broker_adapters has no purge, so this receives and deletes until the queue answers
    empty; messages in flight at other consumers (a barista) stay with them, and delayed
    ones arrive later. Returns how many were deleted.
    """
    now = service.clock()
    last = service.purges.get(queue.name)
    if last is not None and now - last < PURGE_INTERVAL:
        raise AwsError(
            "PurgeQueueInProgress",
            f"Only one PurgeQueue operation on {queue.name} is allowed every "
            f"{PURGE_INTERVAL:.0f} seconds.",
        )
    service.purges[queue.name] = now
    deleted = 0
    for held in service.receipts.drop_queue(queue.name, queue.backend):
        with service.brokers.use(queue.backend):
            deleted += held.delivery.ack()
    while True:
        with service.broker(queue) as broker:
            batch = broker.receive(queue.name, 10, wait=1.0)
            for delivery in batch:
                deleted += delivery.ack()
        if not batch:
            return deleted


def dead_letter_sources(service: SqsService, queue: Queue) -> list[str]:
    with service.store() as store:
        sources = []
        for candidate in store.all():
            value = candidate.attributes.get("RedrivePolicy")
            if value and name_from_arn(json.loads(value)["deadLetterTargetArn"]) == queue.name:
                sources.append(candidate.name)
    return sources
