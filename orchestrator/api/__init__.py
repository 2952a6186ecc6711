"""The orchestrator's HTTP JSON API: ``POST /api/{service}/{Action}``, AWS's names throughout.

A request body is the action's parameters as AWS's API reference spells them (PascalCase, the
same document ``aws … --cli-input-json`` takes); a response is the action's result in AWS's
shape. A refused request answers 400 with ``{"Error": {"Code", "Message", "Type"}}``, the code
and message AWS would give, so a client branches on the code and a person reads the message.

Every request must be signed with AWS Signature Version 4 by one of the orchestrator's access
keys (``orchestrator.api.sigv4``), as the ``barista`` CLI and boto3 sign: the API starts and
kills containers. The scope's service is the signer's choice (the CLI signs with AWS's signing
name, ``monitoring`` for CloudWatch); only the signature decides. An unsigned or badly signed
request is refused before the action is looked up, 403 with AWS's code
(``MissingAuthenticationToken``, ``InvalidClientTokenId``, ``SignatureDoesNotMatch``; a
malformed signature ``IncompleteSignature``, 400).

A body larger than :data:`MAX_REQUEST_BYTES` (1 MiB) is refused unread, 413
``RequestEntityTooLarge`` as AWS answers it: the largest AWS request Barista serves is an SQS
message of 256 KiB, which even percent-encoded three times over in a Query form fits, with its
envelope; nothing else comes close. :class:`BodyLimit` enforces it for every route of the app
(the front door and the JSON routes answer in their protocol, the dashboard's routes in JSON).

Services are discovered: every public module in this package that defines ``SERVICE`` (the
path segment, ``"autoscaling"``) and ``actions(context)`` (Action name → handler) is mounted.
A new AWS service is a new module; services never edit each other's code.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.api import sigv4
from orchestrator.api.credentials import Credentials
from orchestrator.errors import AwsError
from orchestrator.runtime import Runtime

Params = Mapping[str, Any]
Action = Callable[[Params], Mapping[str, Any]]

MAX_REQUEST_BYTES = 1024 * 1024


class RequestTooLarge(AwsError):
    """A body over the limit: AWS's own code and status for an oversized request."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "RequestEntityTooLarge",
            f"The request body is larger than the {limit} bytes Barista accepts.",
            status=413,
        )


class BodyLimit:
    """ASGI middleware: reading more than ``limit`` body bytes raises :class:`RequestTooLarge`
    in the endpoint (at once when ``Content-Length`` declares more), so an endpoint can answer
    in its own protocol; one that does not is answered here, 413 in the JSON route's shape.
    Nothing past the limit is read or buffered."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        over = declared.isdigit() and int(declared) > self.limit
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            if over:
                raise RequestTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise RequestTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except RequestTooLarge as error:
            if started:
                raise
            await error_response(error)(scope, receive, send)


@dataclass(frozen=True)
class ApiContext:
    """What handlers may use. ``store_path`` rather than an open store: SQLite connections
    belong to one thread and Starlette runs sync handlers on a thread pool, so each handler
    opens its own (cheap with WAL)."""

    store_path: Path
    runtime: Runtime
    environ: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)


def service_modules() -> list[str]:
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    )


def error_response(error: AwsError) -> JSONResponse:
    """AWS's error, with its status: 4xx "Sender" for a refusal, 5xx "Receiver" for a fault."""
    fault = "Sender" if error.sender_fault else "Receiver"
    return JSONResponse(
        {
            "Error": {"Code": error.code, "Message": error.message, "Type": fault},
            "RequestId": str(uuid.uuid4()),
        },
        status_code=error.status,
    )


def signed_request(request: Request, body: bytes) -> sigv4.SignedRequest:
    """The request as it arrived on the wire, for :func:`sigv4.verify`: the raw (still
    percent-encoded) path and query, since the signature covers those bytes."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    return sigv4.SignedRequest(
        method=request.method,
        path=raw_path.decode("latin-1"),
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=request.headers,
        body=body,
    )


def _endpoint(
    service: str, actions: Mapping[str, Action], credentials: Credentials
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> JSONResponse:
        try:
            body = await request.body()  # RequestTooLarge past MAX_REQUEST_BYTES
            sigv4.verify(signed_request(request, body), credentials, time.time())
        except AwsError as refused:
            return error_response(refused)
        name = request.path_params["action"]
        action = actions.get(name)
        if action is None:
            return error_response(
                AwsError("InvalidAction", f"The action {name} is not valid for this web service.")
            )
        try:
            params = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as error:
            return error_response(
                AwsError("SerializationException", f"The request body is not JSON: {error}")
            )
        if not isinstance(params, dict):
            return error_response(
                AwsError("SerializationException", "The request body must be a JSON object.")
            )
        try:
            # Handlers block (SQLite, Docker): keep them off the event loop.
            result = await run_in_threadpool(action, params)
        except AwsError as error:
            return error_response(error)
        return JSONResponse(dict(result))

    endpoint.__name__ = f"{service}_action"
    return endpoint


def service_actions(context: ApiContext) -> dict[str, Mapping[str, Action]]:
    """Every discovered service's actions, by its name (botocore's: ``elbv2``)."""
    services: dict[str, Mapping[str, Action]] = {}
    for name in service_modules():
        module = importlib.import_module(name)
        if hasattr(module, "SERVICE"):
            actions = module.actions(context)
            codes: Mapping[str, str] = getattr(module, "ERROR_CODES", {})
            services[module.SERVICE] = (
                {name: _translated(action, codes) for name, action in actions.items()}
                if codes
                else actions
            )
    return services


def _translated(action: Action, codes: Mapping[str, str]) -> Action:
    """``action`` with Barista's shared error codes renamed to the service's own (a module's
    ``ERROR_CODES``), so shared validation speaks each service's dialect."""

    def translated(params: Params) -> Mapping[str, Any]:
        try:
            return action(params)
        except AwsError as error:
            if error.code not in codes:
                raise
            raise AwsError(codes[error.code], error.message, error.status) from error

    return translated


def api_routes(
    context: ApiContext, services: Mapping[str, Mapping[str, Action]] | None = None
) -> list[Route]:
    """One JSON route per discovered service; the dashboard adds its own routes beside these."""
    services = service_actions(context) if services is None else services
    return [
        Route(
            f"/api/{service}/{{action}}",
            _endpoint(service, actions, context.credentials),
            methods=["POST"],
        )
        for service, actions in services.items()
    ]


def create_app(context: ApiContext, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The JSON routes, then ``extra_routes`` (the dashboard's), then the AWS front door, which
    answers the paths AWS's SDKs post to: ``/`` (Query and JSON), the CBOR path, and an SQS
    queue URL (``/{account}/{queue}``, where Query clients send queue actions)."""
    from orchestrator.api.front_door import FrontDoor  # noqa: PLC0415 - it imports this package

    services = service_actions(context)
    door = FrontDoor(services, context.credentials)
    front_door = [
        Route("/", door.endpoint, methods=["POST"], name="aws"),
        Route("/service/{service}/operation/{operation}", door.endpoint, methods=["POST"]),
        Route("/{account}/{queue}", door.endpoint, methods=["POST"]),
    ]
    health = Route("/healthz", _healthz, methods=["GET"])
    return Starlette(
        routes=[health, *api_routes(context, services), *extra_routes, *front_door],
        middleware=[Middleware(BodyLimit)],
    )


async def _healthz(_: Request) -> JSONResponse:
    """Liveness for Compose and probes: answers without a signature, and says nothing else
    (every route that reads or changes state needs one)."""
    return JSONResponse({"status": "ok"})
