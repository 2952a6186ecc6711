"""Amazon SQS's actions over ``orchestrator.sqs``: members as botocore's SQS model names them.

Handlers take the action's input as the front door parses it (``QueueUrl``, ``MessageBody``,
``MessageAttributes`` with bytes for binary values, …) and return the output shape. The
queue URL's host is the one the caller reached Barista at (the front door's
``REQUEST_ENDPOINT``), else ``BARISTA_API_ENDPOINT``, else ``http://127.0.0.1:8500``; a
QueueUrl given to an action is read by its last path segment (the queue name), whatever host
it names.

One ``SqsService`` per store path and broker set is shared by every ``actions()`` call in
the process (it holds the broker connections and the live deliveries behind receipt
handles); ``shutdown()`` closes them all.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api.wire import REQUEST_ENDPOINT
from orchestrator.sqs import messaging, moves, queues
from orchestrator.sqs.brokers import BrokerPool, urls_from_environ
from orchestrator.sqs.errors import invalid_parameter
from orchestrator.sqs.service import DEFAULT_ENDPOINT, SqsService

SERVICE = "sqs"
# The demo's queues ListQueues adopts from the default broker (comma separated; empty: none).
DEMO_QUEUES_VARIABLE = "BARISTA_SQS_QUEUES"
DEFAULT_DEMO_QUEUES = "orders"

_services: dict[tuple[str, tuple[tuple[str, str], ...]], SqsService] = {}
_services_lock = threading.Lock()


def service_for(context: ApiContext) -> SqsService:
    urls, default = urls_from_environ(context.environ)
    key = (str(context.store_path), tuple(sorted(urls.items())))
    with _services_lock:
        service = _services.get(key)
        if service is None:
            endpoint = context.environ.get("BARISTA_API_ENDPOINT", DEFAULT_ENDPOINT)
            named = context.environ.get(DEMO_QUEUES_VARIABLE, DEFAULT_DEMO_QUEUES)
            service = SqsService(
                context.store_path,
                BrokerPool(urls),
                default,
                endpoint,
                demo_queues=tuple(n.strip() for n in named.split(",") if n.strip()),
            )
            _services[key] = service
        return service


def shutdown() -> None:
    """Close every service: held messages go back, broker connections close."""
    with _services_lock:
        services = list(_services.values())
        _services.clear()
    for service in services:
        service.close()


def _strings(params: Params, member: str) -> dict[str, str]:
    value = params.get(member) or {}
    if not isinstance(value, Mapping):
        raise invalid_parameter(f"{member} must be a map of strings.")
    return {str(k): str(v) for k, v in value.items()}


def _names(params: Params, member: str) -> list[str]:
    value = params.get(member) or []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise invalid_parameter(f"{member} must be a list of strings.")
    return [str(item) for item in value]


def _integer(params: Params, member: str) -> int | None:
    value = params.get(member)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_parameter(f"{member} must be an integer.") from None


def actions(context: ApiContext) -> dict[str, Action]:
    service = service_for(context)

    def endpoint(_: Params) -> str | None:
        return REQUEST_ENDPOINT.get()

    def queue(params: Params) -> Any:
        return service.lookup(params.get("QueueUrl"))

    def create_queue(params: Params) -> Mapping[str, Any]:
        url = queues.create_queue(
            service,
            params.get("QueueName"),
            _strings(params, "Attributes"),
            _strings(params, "tags"),
            endpoint(params),
        )
        return {"QueueUrl": url}

    def get_queue_url(params: Params) -> Mapping[str, Any]:
        return {
            "QueueUrl": queues.get_queue_url(service, params.get("QueueName"), endpoint(params))
        }

    def list_queues(params: Params) -> Mapping[str, Any]:
        urls, token = queues.list_queues(
            service,
            params.get("QueueNamePrefix"),
            _integer(params, "MaxResults"),
            params.get("NextToken"),
            endpoint(params),
        )
        return {"QueueUrls": urls, **({"NextToken": token} if token else {})}

    def get_queue_attributes(params: Params) -> Mapping[str, Any]:
        names = _names(params, "AttributeNames")
        found = queues.get_queue_attributes(service, queue(params), names)
        return {"Attributes": found} if names else {}

    def set_queue_attributes(params: Params) -> Mapping[str, Any]:
        queues.set_queue_attributes(service, queue(params), _strings(params, "Attributes"))
        return {}

    def tag_queue(params: Params) -> Mapping[str, Any]:
        queues.tag_queue(service, queue(params), _strings(params, "Tags"))
        return {}

    def untag_queue(params: Params) -> Mapping[str, Any]:
        queues.untag_queue(service, queue(params), _names(params, "TagKeys"))
        return {}

    def list_queue_tags(params: Params) -> Mapping[str, Any]:
        tags = queue(params).tags
        return {"Tags": tags} if tags else {}

    def delete_queue(params: Params) -> Mapping[str, Any]:
        queues.delete_queue(service, queue(params))
        return {}

    def purge_queue(params: Params) -> Mapping[str, Any]:
        queues.purge_queue(service, queue(params))
        return {}

    def list_dead_letter_source_queues(params: Params) -> Mapping[str, Any]:
        names = queues.dead_letter_sources(service, queue(params))
        urls, token = queues.page(
            service,
            names,
            _integer(params, "MaxResults"),
            params.get("NextToken"),
            endpoint(params),
        )
        return {"queueUrls": urls, **({"NextToken": token} if token else {})}

    def send_message(params: Params) -> Mapping[str, Any]:
        return messaging.send_message(service, queue(params), params)

    def send_message_batch(params: Params) -> Mapping[str, Any]:
        return messaging.send_message_batch(service, queue(params), params.get("Entries"))

    def receive_message(params: Params) -> Mapping[str, Any]:
        found = messaging.receive_message(
            service,
            queue(params),
            max_messages=_integer(params, "MaxNumberOfMessages"),
            wait=_integer(params, "WaitTimeSeconds"),
            visibility=_integer(params, "VisibilityTimeout"),
            system_names=[
                *_names(params, "MessageSystemAttributeNames"),
                *_names(params, "AttributeNames"),
            ],
            attribute_names=_names(params, "MessageAttributeNames"),
            attempt_id=params.get("ReceiveRequestAttemptId"),
        )
        return {"Messages": found} if found else {}

    def delete_message(params: Params) -> Mapping[str, Any]:
        messaging.delete_message(service, queue(params), params.get("ReceiptHandle"))
        return {}

    def delete_message_batch(params: Params) -> Mapping[str, Any]:
        return messaging.delete_message_batch(service, queue(params), params.get("Entries"))

    def change_message_visibility(params: Params) -> Mapping[str, Any]:
        messaging.change_message_visibility(
            service, queue(params), params.get("ReceiptHandle"), params.get("VisibilityTimeout")
        )
        return {}

    def change_message_visibility_batch(params: Params) -> Mapping[str, Any]:
        return messaging.change_message_visibility_batch(
            service, queue(params), params.get("Entries")
        )

    def start_message_move_task(params: Params) -> Mapping[str, Any]:
        handle = moves.start(
            service,
            params.get("SourceArn"),
            params.get("DestinationArn"),
            _integer(params, "MaxNumberOfMessagesPerSecond"),
        )
        return {"TaskHandle": handle}

    def list_message_move_tasks(params: Params) -> Mapping[str, Any]:
        results = moves.list_tasks(service, params.get("SourceArn"), _integer(params, "MaxResults"))
        return {"Results": results}

    def cancel_message_move_task(params: Params) -> Mapping[str, Any]:
        moved = moves.cancel(service, params.get("TaskHandle"))
        return {"ApproximateNumberOfMessagesMoved": moved}

    return {
        "CreateQueue": create_queue,
        "GetQueueUrl": get_queue_url,
        "ListQueues": list_queues,
        "GetQueueAttributes": get_queue_attributes,
        "SetQueueAttributes": set_queue_attributes,
        "TagQueue": tag_queue,
        "UntagQueue": untag_queue,
        "ListQueueTags": list_queue_tags,
        "DeleteQueue": delete_queue,
        "PurgeQueue": purge_queue,
        "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
        "SendMessage": send_message,
        "SendMessageBatch": send_message_batch,
        "ReceiveMessage": receive_message,
        "DeleteMessage": delete_message,
        "DeleteMessageBatch": delete_message_batch,
        "ChangeMessageVisibility": change_message_visibility,
        "ChangeMessageVisibilityBatch": change_message_visibility_batch,
        "StartMessageMoveTask": start_message_move_task,
        "ListMessageMoveTasks": list_message_move_tasks,
        "CancelMessageMoveTask": cancel_message_move_task,
    }
