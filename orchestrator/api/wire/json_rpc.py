"""AWS's JSON protocol (1.0 and 1.1: ecs, application-autoscaling, sqs) and smithy RPC v2 CBOR
(CloudWatch, as current botocore and the AWS CLI send it).

Both are RPC over ``POST``: JSON names the action in ``X-Amz-Target: Prefix.Action`` and
carries the members as a JSON object (timestamps as epoch seconds, blobs as base64); CBOR
names it in the path ``/service/{Prefix}/operation/{Action}`` and carries the same object as
CBOR (timestamps as tag 1 epoch seconds, blobs as byte strings). Errors are an object with
``__type`` and ``message``; a service that used to speak Query adds the old code in the
``x-amzn-query-error`` header.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import cbor2
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from orchestrator.api.wire import WireRequest, WireResponse
from orchestrator.api.wire.errors import identify
from orchestrator.api.wire.values import blob_input, epoch, iso_text, normalise, timestamp_input
from orchestrator.errors import AwsError

CBOR_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")


def _inputs(shape: Shape, value: Any, member: str) -> Any:  # noqa: PLR0911 - one per shape kind
    """A decoded request value → the form actions take (ISO timestamps, bytes for blobs)."""
    if value is None:
        return None
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {
            name: _inputs(shape.members[name], item, f"{member}.{name}" if member else name)
            if name in shape.members
            else item  # left for the action to refuse by name
            for name, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_inputs(shape.member, item, f"{member}[{i}]") for i, item in enumerate(value)]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {key: _inputs(shape.value, item, f"{member}.{key}") for key, item in value.items()}
    if shape.type_name == "timestamp":
        return timestamp_input(value, member)
    if shape.type_name == "blob":
        return blob_input(value, member)
    return value


def _json_ready(shape: Shape, value: Any) -> Any:  # noqa: PLR0911 - one per shape kind
    """A normalised value as JSON: epoch timestamps (unless the shape says ISO), base64 blobs."""
    if isinstance(shape, StructureShape):
        return {name: _json_ready(shape.members[name], item) for name, item in value.items()}
    if isinstance(shape, ListShape):
        return [_json_ready(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _json_ready(shape.value, item) for key, item in value.items()}
    if isinstance(value, datetime):
        if shape.serialization.get("timestampFormat") == "iso8601":
            return iso_text(value)
        return epoch(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


class JsonProtocol:
    """JSON 1.0 / 1.1, the action named by ``X-Amz-Target``."""

    def operation_name(self, request: WireRequest) -> str | None:
        target = request.headers.get("x-amz-target", "")
        return target.rsplit(".", 1)[1] if "." in target else None

    def parse(self, operation: OperationModel, request: WireRequest) -> dict[str, Any]:
        try:
            document = json.loads(request.body) if request.body.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise AwsError("SerializationException", f"The body is not JSON: {error}") from None
        return _structure_input(operation, document)

    def render(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        shape = operation.output_shape
        document = _json_ready(shape, normalise(shape, result)) if shape is not None else {}
        return WireResponse(
            200,
            json.dumps(document).encode(),
            {
                "Content-Type": _content_type(operation.service_model),
                "x-amzn-RequestId": request_id,
            },
        )

    def render_error(
        self, service: ServiceModel | None, code: str, message: str, status: int, request_id: str
    ) -> WireResponse:
        error = identify(service, code, status)
        headers = {"Content-Type": _content_type(service), "x-amzn-RequestId": request_id}
        headers |= _query_error_header(service, error.query_code, error.fault, error.modeled)
        body = {"__type": error.type_name, "message": message}
        return WireResponse(error.status, json.dumps(body).encode(), headers)


class CborProtocol:
    """Smithy RPC v2 CBOR, the action named by the path."""

    def operation_name(self, request: WireRequest) -> str | None:
        match = CBOR_PATH.match(request.path)
        return match["operation"] if match else None

    def parse(self, operation: OperationModel, request: WireRequest) -> dict[str, Any]:
        try:
            document = cbor2.loads(request.body) if request.body else {}
        except (cbor2.CBORDecodeError, ValueError) as error:
            raise AwsError("SerializationException", f"The body is not CBOR: {error}") from None
        return _structure_input(operation, document)

    def render(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        shape = operation.output_shape
        document = normalise(shape, result) if shape is not None else {}
        return WireResponse(200, _cbor(document), _cbor_headers(request_id))

    def render_error(
        self, service: ServiceModel | None, code: str, message: str, status: int, request_id: str
    ) -> WireResponse:
        error = identify(service, code, status)
        headers = _cbor_headers(request_id)
        headers |= _query_error_header(service, error.query_code, error.fault, error.modeled)
        body = {"__type": error.type_name, "message": message}
        return WireResponse(error.status, _cbor(body), headers)


def _structure_input(operation: OperationModel, document: Any) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        raise AwsError("SerializationException", "The request body must be an object.")
    shape = operation.input_shape
    if shape is None:
        return dict(document)
    return dict(_inputs(shape, document, ""))


def _content_type(service: ServiceModel | None) -> str:
    if service is None:
        return "application/x-amz-json-1.0"
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


def _query_error_header(
    service: ServiceModel | None, code: str, fault: str, modeled: bool
) -> dict[str, str]:
    if modeled and service is not None and service.metadata.get("awsQueryCompatible") is not None:
        return {"x-amzn-query-error": f"{code};{fault}"}
    return {}


def _cbor(document: Any) -> bytes:
    # Timestamps as tag 1 (epoch seconds), which is what botocore's CBOR parser accepts.
    return bytes(cbor2.dumps(document, datetime_as_timestamp=True, timezone=UTC))


def _cbor_headers(request_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-RequestId": request_id,
    }
