"""AWS's Query protocol (autoscaling, elasticloadbalancing, sns, old sqs) and its EC2 dialect.

A request is a form (``Action=CreateAutoScalingGroup&Version=2011-01-01&MinSize=1&
AvailabilityZones.member.1=az-a``), a response an XML document
``<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata>``.
The form's keys are the model's member names joined by dots, with three rules for collections
that this module inverts exactly as botocore's ``QuerySerializer`` applies them:

* a list is ``Name.member.N`` (the member's ``locationName`` replaces ``member``), or ``Name.N``
  when flattened; an empty list is ``Name=`` with no value;
* a map is ``Name.entry.N.key`` / ``Name.entry.N.value`` (or ``Name.N.key`` when flattened;
  the key and value shapes may rename ``key`` and ``value``);
* EC2's dialect numbers every list ``Name.N``, spells members by ``queryName`` (else its
  ``locationName`` with a capital), answers without a result wrapper and with ``requestId``,
  and wraps errors in ``<Response><Errors>``.

A key the input shape has no member for is refused: a misspelt parameter silently dropped would
change what the caller asked for.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from orchestrator.api.wire import WireRequest, WireResponse
from orchestrator.api.wire.errors import identify
from orchestrator.api.wire.values import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    blob_input,
    iso_text,
    normalise,
    timestamp_input,
)
from orchestrator.errors import AwsError

CONTENT_TYPE = "text/xml"
FORM = "application/x-www-form-urlencoded"
# Keys every Query request may carry besides the action's members.
ENVELOPE = frozenset({"Action", "Version"})
EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"

_MISSING: Any = object()


def form_of(request: WireRequest) -> dict[str, str]:
    """The form's fields: the body for a POST, the query string for a GET; presigning's
    ``X-Amz-*`` fields are the signature's, not the action's."""
    text = request.query if request.method == "GET" else request.body.decode("utf-8", "replace")
    return {
        key: value
        for key, value in parse_qsl(text, keep_blank_values=True)
        if not key.startswith("X-Amz-")
    }


class _FormReader:
    """Reads one input shape out of a flat form, remembering which keys it used."""

    def __init__(self, form: Mapping[str, str], ec2: bool) -> None:
        self.form = form
        self.ec2 = ec2
        self.used: set[str] = set()

    def name(self, shape: Shape, default: str) -> str:
        if self.ec2:
            if "queryName" in shape.serialization:
                return str(shape.serialization["queryName"])
            if "name" in shape.serialization:
                name = str(shape.serialization["name"])
                return name[:1].upper() + name[1:]
            return default
        return str(shape.serialization.get("name", default))

    def _indices(self, prefix: str) -> list[int]:
        start = prefix + "."
        found = set()
        for key in self.form:
            if key.startswith(start):
                head = key[len(start) :].split(".", 1)[0]
                if head.isdigit():
                    found.add(int(head))
        return sorted(found)

    def read(self, shape: Shape, prefix: str) -> Any:
        if isinstance(shape, StructureShape):
            return self._structure(shape, prefix)
        if isinstance(shape, ListShape):
            return self._list(shape, prefix)
        if isinstance(shape, MapShape):
            return self._map(shape, prefix)
        if prefix not in self.form:
            return _MISSING
        self.used.add(prefix)
        return self._scalar(shape, self.form[prefix], prefix)

    def _structure(self, shape: StructureShape, prefix: str) -> Any:
        result: dict[str, Any] = {}
        for member_name, member in shape.members.items():
            key = self.name(member, member_name)
            value = self.read(member, f"{prefix}.{key}" if prefix else key)
            if value is not _MISSING:
                result[member_name] = value
        return result if result or not prefix else _MISSING

    def _list(self, shape: ListShape, prefix: str) -> Any:
        if self.form.get(prefix) == "":
            self.used.add(prefix)
            return []
        if self.ec2:
            base = prefix
        elif shape.serialization.get("flattened"):
            base = prefix
            if "name" in shape.member.serialization:
                base = ".".join([*prefix.split(".")[:-1], self.name(shape.member, "")])
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = [self.read(shape.member, f"{base}.{i}") for i in self._indices(base)]
        return [item for item in items if item is not _MISSING] if items else _MISSING

    def _map(self, shape: MapShape, prefix: str) -> Any:
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = self.name(shape.key, "key")
        value_name = self.name(shape.value, "value")
        result: dict[str, Any] = {}
        for i in self._indices(base):
            key = self.read(shape.key, f"{base}.{i}.{key_name}")
            value = self.read(shape.value, f"{base}.{i}.{value_name}")
            if key is not _MISSING and value is not _MISSING:
                result[key] = value
        return result if result else _MISSING

    @staticmethod
    def _scalar(shape: Shape, text: str, member: str) -> Any:
        kind = shape.type_name
        try:
            if kind in INTEGER_TYPES:
                return int(text)
            if kind in FLOAT_TYPES:
                return float(text)
        except ValueError:
            raise AwsError(
                "ValidationError",
                f"Value '{text}' at '{member}' failed to satisfy constraint: Member must be a "
                "number",
            ) from None
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise AwsError(
                    "ValidationError",
                    f"Value '{text}' at '{member}' failed to satisfy constraint: Member must "
                    "be true or false",
                )
            return text.lower() == "true"
        if kind == "timestamp":
            return timestamp_input(text, member)
        if kind == "blob":
            return blob_input(text, member)
        return text


class _XmlWriter:
    """Writes a normalised output document under an element, by its shape."""

    def element(self, parent: ElementTree.Element, name: str, shape: Shape, value: Any) -> None:
        if isinstance(shape, StructureShape):
            node = ElementTree.SubElement(parent, name)
            self.members(node, shape, value)
        elif isinstance(shape, ListShape):
            self._list(parent, name, shape, value)
        elif isinstance(shape, MapShape):
            self._map(parent, name, shape, value)
        else:
            ElementTree.SubElement(parent, name).text = self._text(shape, value)

    def members(self, node: ElementTree.Element, shape: StructureShape, value: Any) -> None:
        for member_name, member in shape.members.items():
            if member_name in value:
                name = str(member.serialization.get("name", member_name))
                self.element(node, name, member, value[member_name])

    def _list(self, parent: ElementTree.Element, name: str, shape: ListShape, value: Any) -> None:
        if shape.serialization.get("flattened"):
            item_name = str(shape.member.serialization.get("name", name))
            for item in value:
                self.element(parent, item_name, shape.member, item)
            return
        wrapper = ElementTree.SubElement(parent, name)
        item_name = str(shape.member.serialization.get("name", "member"))
        for item in value:
            self.element(wrapper, item_name, shape.member, item)

    def _map(self, parent: ElementTree.Element, name: str, shape: MapShape, value: Any) -> None:
        key_name = str(shape.key.serialization.get("name", "key"))
        value_name = str(shape.value.serialization.get("name", "value"))
        flattened = shape.serialization.get("flattened")
        wrapper = parent if flattened else ElementTree.SubElement(parent, name)
        for key, item in value.items():
            entry = ElementTree.SubElement(wrapper, name if flattened else "entry")
            self.element(entry, key_name, shape.key, key)
            self.element(entry, value_name, shape.value, item)

    @staticmethod
    def _text(shape: Shape, value: Any) -> str:
        kind = shape.type_name
        if kind == "timestamp":
            return iso_text(value)
        if kind == "boolean":
            return "true" if value else "false"
        if kind == "blob":
            return base64.b64encode(value).decode()
        return str(value)


def _xml(root: ElementTree.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root)


class QueryProtocol:
    """The Query protocol; ``ec2=True`` for EC2's dialect of it."""

    def __init__(self, *, ec2: bool = False) -> None:
        self.ec2 = ec2

    def operation_name(self, request: WireRequest) -> str | None:
        return form_of(request).get("Action") or None

    def parse(self, operation: OperationModel, request: WireRequest) -> dict[str, Any]:
        form = form_of(request)
        shape = operation.input_shape
        if shape is None:
            reader = _FormReader(form, self.ec2)
            params: dict[str, Any] = {}
        else:
            reader = _FormReader(form, self.ec2)
            params = reader.read(shape, "")
        unknown = sorted(set(form) - reader.used - ENVELOPE)
        if unknown:
            raise AwsError(
                "UnknownParameter" if self.ec2 else "ValidationError",
                f"The parameter {unknown[0]} is not recognized by {operation.name}.",
            )
        return params

    def render(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        namespace = self._namespace(operation.service_model)
        root = ElementTree.Element(f"{operation.name}Response", xmlns=namespace)
        writer = _XmlWriter()
        shape = operation.output_shape
        if self.ec2:
            ElementTree.SubElement(root, "requestId").text = request_id
            if shape is not None:
                writer.members(root, shape, normalise(shape, result))
        else:
            if shape is not None:
                wrapper = shape.serialization.get("resultWrapper")
                target = ElementTree.SubElement(root, wrapper) if wrapper else root
                writer.members(target, shape, normalise(shape, result))
            metadata = ElementTree.SubElement(root, "ResponseMetadata")
            ElementTree.SubElement(metadata, "RequestId").text = request_id
        return WireResponse(200, _xml(root), {"Content-Type": CONTENT_TYPE})

    def render_error(
        self, service: ServiceModel | None, code: str, message: str, status: int, request_id: str
    ) -> WireResponse:
        error = identify(service, code, status)
        if self.ec2:
            root = ElementTree.Element("Response")
            detail = ElementTree.SubElement(ElementTree.SubElement(root, "Errors"), "Error")
            ElementTree.SubElement(detail, "Code").text = error.query_code
            ElementTree.SubElement(detail, "Message").text = message
            ElementTree.SubElement(root, "RequestID").text = request_id
        else:
            root = ElementTree.Element("ErrorResponse", xmlns=self._namespace(service))
            detail = ElementTree.SubElement(root, "Error")
            ElementTree.SubElement(detail, "Type").text = error.fault
            ElementTree.SubElement(detail, "Code").text = error.query_code
            ElementTree.SubElement(detail, "Message").text = message
            ElementTree.SubElement(root, "RequestId").text = request_id
        return WireResponse(error.status, _xml(root), {"Content-Type": CONTENT_TYPE})

    def _namespace(self, service: ServiceModel | None) -> str:
        if self.ec2:
            return EC2_NAMESPACE
        if service is None:
            return ""
        return str(service.metadata.get("xmlNamespace", ""))
