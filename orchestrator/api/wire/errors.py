"""An action's error code, as each protocol names it.

A service that moved from Query to JSON or CBOR (SQS, CloudWatch) has two names for one error:
the shape's name (``QueueDoesNotExist``), which JSON and CBOR send as ``__type``, and the old
Query code (``AWS.SimpleQueueService.NonExistentQueue``), which Query sends as ``<Code>`` and
JSON repeats in the ``x-amzn-query-error`` header so SDKs raise the code older code expects.
The model's error shapes hold both, and the HTTP status AWS uses for each.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.model import ServiceModel


@dataclass(frozen=True)
class ErrorIdentity:
    type_name: str  # JSON/CBOR ``__type``
    query_code: str  # Query/EC2 ``<Code>``
    status: int
    modeled: bool

    @property
    def fault(self) -> str:
        return "Sender" if self.status < 500 else "Receiver"


def identify(service: ServiceModel | None, code: str, status: int) -> ErrorIdentity:
    """Both names of ``code`` in ``service`` (an unmodeled code keeps its own name)."""
    for shape in service.error_shapes if service is not None else ():
        if code in (shape.name, shape.error_code):
            modeled_status = shape.metadata.get("error", {}).get("httpStatusCode")
            # An action's explicit 5xx wins (a server fault); else AWS's status for the error.
            chosen = status if status >= 500 or modeled_status is None else modeled_status
            return ErrorIdentity(shape.name, shape.error_code or shape.name, chosen, True)
    return ErrorIdentity(code, code, status, False)
