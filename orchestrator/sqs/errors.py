"""SQS's error codes, as botocore's SQS model (JSON protocol) names them.

The Query protocol spelled several of them differently; ``QUERY_CODES`` keeps that
correspondence for a renderer that speaks Query (the current model carries no
``awsQueryError`` traits, so the JSON codes are what SDKs branch on).
"""

from __future__ import annotations

from orchestrator.errors import AwsError

QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}


def queue_does_not_exist(name: str) -> AwsError:
    return AwsError("QueueDoesNotExist", f"The specified queue {name} does not exist.")


def invalid_attribute_value(message: str) -> AwsError:
    return AwsError("InvalidAttributeValue", message)


def invalid_attribute_name(message: str) -> AwsError:
    return AwsError("InvalidAttributeName", message)


def invalid_parameter(message: str) -> AwsError:
    """AWS's generic refusal of a request member (not a modelled shape, but what SQS sends)."""
    return AwsError("InvalidParameterValue", message)


def missing_parameter(member: str) -> AwsError:
    return AwsError("MissingParameter", f"The request must contain the parameter {member}.")


def receipt_handle_is_invalid(handle: str) -> AwsError:
    return AwsError("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not valid.')


def unavailable(message: str) -> AwsError:
    return AwsError("ServiceUnavailable", message, status=503)
