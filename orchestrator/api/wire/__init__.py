"""AWS's wire protocols, parsed and rendered from botocore's service models.

Every AWS SDK serialises a request from the service's model (the JSON files botocore ships in
``botocore/data``) and parses the response with the same model. This package does the mirror
image on the server side, generically: one module per protocol family, each a
:class:`WireProtocol` that turns an HTTP request into the action's input (a dict with AWS's
member names, the form ``aws … --cli-input-json`` takes) and the action's result (a dict in the
model's output shape) into the HTTP response the SDK expects. No action has XML or JSON of its
own; adding an action is adding a handler.

Why not a library: the server side of these protocols exists only inside the big emulators
(LocalStack's parser and serializer ship with its whole runtime and ~100 dependencies; moto's are
hand-written per service). The models themselves are botocore's, so what is written here is
only the walk over them, a few hundred lines, tested against botocore's and the AWS CLI's own
serialisers and parsers.

Values handed to actions: strings, ints, floats, bools, lists and dicts as in JSON; timestamps
as ISO 8601 strings in UTC (``2026-11-28T09:00:00Z``), whatever the wire carried; blobs as
bytes. Values returned by actions may use ISO strings, epoch numbers or aware datetimes for
timestamps; members the output shape does not have are dropped (and logged), so an action
cannot leak a field AWS does not define.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel, ServiceModel

# The address the caller reached Barista at (``http://127.0.0.1:8500``), for the few answers
# that contain a URL of Barista's own, as AWS's do (an SQS QueueUrl, an SNS SubscribeURL):
# set by the front door around each action, so a client on another host or port gets URLs it
# can use. Actions run on a worker thread; the variable travels with the copied context.
REQUEST_ENDPOINT: ContextVar[str | None] = ContextVar("barista_request_endpoint", default=None)


@dataclass(frozen=True)
class WireRequest:
    """The parts of an HTTP request the protocols read."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class WireProtocol(Protocol):
    """One protocol family (query, ec2, json, smithy-rpc-v2-cbor)."""

    def operation_name(self, request: WireRequest) -> str | None:
        """The action the request names, or None if it names none."""
        ...

    def parse(self, operation: OperationModel, request: WireRequest) -> dict[str, Any]:
        """The action's input; raises ``AwsError`` for a request the model cannot read."""
        ...

    def render(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> WireResponse: ...

    def render_error(
        self,
        service: ServiceModel | None,
        code: str,
        message: str,
        status: int,
        request_id: str,
    ) -> WireResponse: ...
