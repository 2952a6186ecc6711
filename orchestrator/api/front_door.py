"""The AWS front door: one endpoint that speaks AWS's wire protocols for every service Barista
mirrors, so ``AWS_ENDPOINT_URL=http://127.0.0.1:8500`` is all the ``aws`` CLI, boto3 and other
SDKs need.

A request goes: find the service and protocol → check its SigV4 signature → parse it with the
service's botocore model → call the action (the same handler the JSON route calls) → render the
result or the error in that protocol. The service is found the way AWS's front ends and the
established emulators find it: ``X-Amz-Target`` (JSON) or the CBOR path name the service's
target prefix; a Query form names only the action, so the service is the signing name in the
SigV4 credential scope (``…/us-east-1/autoscaling/aws4_request``).

Actions Barista does not implement answer 501 ``NotImplemented`` naming the action, so a
caller can tell "Barista lacks this" from "AWS would refuse this".
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.api import RequestTooLarge, sigv4
from orchestrator.api.credentials import Credentials
from orchestrator.api.wire import REQUEST_ENDPOINT, WireProtocol, WireRequest, WireResponse
from orchestrator.api.wire.json_rpc import CBOR_PATH, CborProtocol, JsonProtocol
from orchestrator.api.wire.query import QueryProtocol
from orchestrator.api.wire.query_traits import query_edition, with_query_errors
from orchestrator.errors import AwsError

log = logging.getLogger(__name__)

# A queue's URL path, ``/<account id>/<queue name>``.
QUEUE_PATH = re.compile(r"/\d{12}/[\w.-]{1,80}")

Handler = Callable[[Mapping[str, Any]], Mapping[str, Any]]

PROTOCOLS: Mapping[str, WireProtocol] = {
    "query": QueryProtocol(),
    "ec2": QueryProtocol(ec2=True),
    "json": JsonProtocol(),
    "smithy-rpc-v2-cbor": CborProtocol(),
}


@cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of a service (``autoscaling``, ``elbv2``, …), loaded once."""
    # SQS's lost its Query error codes in the move to JSON; AWS still sends them.
    return with_query_errors(botocore.session.get_session().get_service_model(name))


@cache
def query_model(name: str) -> ServiceModel | None:
    """The Query edition of a JSON service AWS still serves over Query (SQS), loaded once."""
    return query_edition(service_model(name))


@dataclass(frozen=True)
class Service:
    """One AWS service behind the door: its model and its actions."""

    name: str  # botocore's name: "elbv2"
    model: ServiceModel
    actions: Mapping[str, Handler]
    # The Query edition of a JSON service that AWS still serves over Query (SQS), else None.
    query_model: ServiceModel | None = None

    def model_for(self, protocol: str) -> ServiceModel:
        """The model that describes requests in ``protocol``."""
        if protocol == "query" and self.query_model is not None:
            return self.query_model
        return self.model

    @property
    def signing_name(self) -> str:
        return str(self.model.signing_name)

    @property
    def target_prefix(self) -> str | None:
        prefix = self.model.metadata.get("targetPrefix")
        return str(prefix) if prefix else None


class FrontDoor:
    """Routes, authenticates, parses, dispatches and renders; one per app."""

    def __init__(
        self,
        services: Mapping[str, Mapping[str, Handler]],
        credentials: Credentials,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self.services = [
            Service(name, service_model(name), actions, query_model(name))
            for name, actions in services.items()
        ]
        self._by_prefix = {s.target_prefix: s for s in self.services if s.target_prefix}
        self._by_signing_name = {s.signing_name: s for s in self.services}

    async def endpoint(self, request: Request) -> Response:
        """The Starlette endpoint."""
        wire = WireRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={key.lower(): value for key, value in request.headers.items()},
            body=b"",
        )
        try:
            wire = dataclasses.replace(wire, body=await request.body())
        except RequestTooLarge as refused:
            answer = self.refuse(wire, refused)
        else:
            raw_path = request.scope.get("raw_path") or request.url.path.encode()
            answer = await self.handle(wire, raw_path.decode("latin-1"))
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    def refuse(self, request: WireRequest, error: AwsError) -> WireResponse:
        """``error`` in the protocol ``request`` speaks, before its body was read."""
        service, protocol_name = self._route(request)
        protocol = PROTOCOLS[protocol_name]
        model = service.model_for(protocol_name) if service is not None else None
        return protocol.render_error(
            model, error.code, error.message, error.status, str(uuid.uuid4())
        )

    async def handle(self, request: WireRequest, raw_path: str | None = None) -> WireResponse:
        request_id = str(uuid.uuid4())
        service, protocol_name = self._route(request)
        protocol = PROTOCOLS["json" if protocol_name == "json" else protocol_name]
        try:
            dialect = sigv4.QUERY if protocol_name in ("query", "ec2") else sigv4.JSON
            sigv4.verify(
                _signed(request, raw_path), self.credentials, self.clock(), dialect=dialect
            )
            if service is None:
                raise AwsError(
                    "UnknownService",
                    "Barista cannot tell which service this request is for: send "
                    "X-Amz-Target, or sign it with SigV4 for one of: "
                    + ", ".join(sorted(self._by_signing_name)),
                )
            name = protocol.operation_name(request)
            operation = self._operation(service, name, protocol_name)
            handler = service.actions.get(operation.name)
            if handler is None:
                raise AwsError(
                    "NotImplemented",
                    f"Barista does not implement {service.name}:{operation.name} (it "
                    f"implements {', '.join(sorted(service.actions))}).",
                    status=501,
                )
            params = _without_idempotency_tokens(operation, protocol.parse(operation, request))
            params = _queue_url_from_path(operation, params, request)
            # Handlers block (SQLite, Docker, brokers): keep them off the event loop.
            token = REQUEST_ENDPOINT.set(_endpoint_of(request))
            try:
                result = await run_in_threadpool(handler, params)
            finally:
                REQUEST_ENDPOINT.reset(token)
            return protocol.render(operation, result, request_id)
        except AwsError as error:
            model = service.model_for(protocol_name) if service is not None else None
            return protocol.render_error(model, error.code, error.message, error.status, request_id)
        except Exception:
            log.exception("front door: %s failed", request.headers.get("x-amz-target", "action"))
            model = service.model_for(protocol_name) if service is not None else None
            return protocol.render_error(
                model, "InternalFailure", "Barista failed to handle the request.", 500, request_id
            )

    def _route(self, request: WireRequest) -> tuple[Service | None, str]:
        match = CBOR_PATH.match(request.path)
        if match and request.headers.get("smithy-protocol") == "rpc-v2-cbor":
            return self._by_prefix.get(match["service"]), "smithy-rpc-v2-cbor"
        target = request.headers.get("x-amz-target")
        if target:
            return self._by_prefix.get(target.rsplit(".", 1)[0]), "json"
        scope = self._scope(request)
        service = self._by_signing_name.get(scope.service) if scope else None
        if service is None:
            return None, "query"
        protocol = service.model.metadata.get("protocol")
        return service, "ec2" if protocol == "ec2" else "query"

    @staticmethod
    def _scope(request: WireRequest) -> sigv4.Scope | None:
        try:
            return sigv4.scope_of(_signed(request, None))
        except AwsError:
            return None

    @staticmethod
    def _operation(service: Service, name: str | None, protocol: str) -> Any:
        model = service.model_for(protocol)
        if name and name in model.operation_names:
            return model.operation_model(name)
        if protocol in ("query", "ec2"):
            raise AwsError("InvalidAction", f"The action {name} is not valid for this web service.")
        raise AwsError("UnknownOperationException", f"{service.name} has no operation {name}.")


def _queue_url_from_path(
    operation: Any, params: dict[str, Any], request: WireRequest
) -> dict[str, Any]:
    """SQS's older clients post a queue's actions to the queue's URL and leave ``QueueUrl``
    out of the form; AWS takes the queue from the path then, and so does Barista."""
    shape = operation.input_shape
    if shape is None or "QueueUrl" not in shape.members or "QueueUrl" in params:
        return params
    if QUEUE_PATH.fullmatch(request.path) is None:
        return params
    return {**params, "QueueUrl": f"{_endpoint_of(request) or ''}{request.path}"}


def _endpoint_of(request: WireRequest) -> str | None:
    """``http://host:port`` as the caller addressed it (its Host header)."""
    host = request.headers.get("host")
    scheme = request.headers.get("x-forwarded-proto", "http")
    return f"{scheme}://{host}" if host else None


def _without_idempotency_tokens(operation: Any, params: dict[str, Any]) -> dict[str, Any]:
    """SDKs fill idempotency tokens (``ClientToken``) on their own; Barista's create actions
    are keyed by name, so a retried create finds its resource instead of making a second one,
    and the token has nothing to add. Dropped here so no action has to list it."""
    shape = operation.input_shape
    if shape is None:
        return params
    tokens = {
        name for name, member in shape.members.items() if member.metadata.get("idempotencyToken")
    }
    return {key: value for key, value in params.items() if key not in tokens}


def _signed(request: WireRequest, raw_path: str | None) -> sigv4.SignedRequest:
    return sigv4.SignedRequest(
        method=request.method,
        path=raw_path or request.path,
        query=request.query,
        headers=request.headers,
        body=request.body,
    )
