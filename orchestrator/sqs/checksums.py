"""The MD5 digests SQS returns, computed as AWS documents them, so SDKs' checks pass.

Body: the MD5 of the body's UTF-8 bytes. Message attributes (and message system attributes,
the same way): for each attribute in name order, the name, the data type and the value, each
as a 4-byte big-endian length followed by the UTF-8 (or, for binary values, raw) bytes, with
a transport byte between data type and value (1 for String and Number, 2 for Binary); the MD5
of the concatenation, in lowercase hex.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from typing import Any

STRING_TRANSPORT = 1
BINARY_TRANSPORT = 2


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def _sized(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """MD5OfMessageAttributes (or MD5OfMessageSystemAttributes) of AWS-shaped attributes."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value["DataType"])
        digest.update(_sized(name.encode()))
        digest.update(_sized(data_type.encode()))
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            digest.update(bytes([BINARY_TRANSPORT]))
            digest.update(_sized(bytes(value["BinaryValue"])))
        else:
            digest.update(bytes([STRING_TRANSPORT]))
            digest.update(_sized(str(value["StringValue"]).encode()))
    return digest.hexdigest()
