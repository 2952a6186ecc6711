"""ECS's error codes, each one an exception shape in botocore's ECS model.

An SDK turns a code it knows into ``ClientError`` with that code, and callers branch on it
(``except ecs.exceptions.ClusterNotFoundException``), so Barista answers with those codes and
no others; ``tests/unit/orchestrator/ecs/test_errors.py`` holds them to the model.
"""

from __future__ import annotations

from orchestrator.errors import AwsError


class ClientException(AwsError):
    """The request is wrong in a way ECS reports as the client's (task definitions mostly)."""

    def __init__(self, message: str) -> None:
        super().__init__("ClientException", message)


class InvalidParameterException(AwsError):
    """A member has a value ECS does not accept, or one Barista does not support."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterException", message)


class ClusterNotFoundException(AwsError):
    def __init__(self) -> None:
        super().__init__("ClusterNotFoundException", "Cluster not found.")


class ServiceNotFoundException(AwsError):
    def __init__(self) -> None:
        super().__init__("ServiceNotFoundException", "Service not found.")


class ServiceNotActiveException(AwsError):
    def __init__(self) -> None:
        super().__init__("ServiceNotActiveException", "Service was not ACTIVE.")


class ClusterContainsServicesException(AwsError):
    def __init__(self) -> None:
        super().__init__(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.",
        )


class ClusterContainsTasksException(AwsError):
    def __init__(self) -> None:
        super().__init__(
            "ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active."
        )
