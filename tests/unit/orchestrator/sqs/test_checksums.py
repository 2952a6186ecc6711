"""AWS's MD5 digests, checked against published vectors."""

from __future__ import annotations

import hashlib

from orchestrator.sqs.checksums import md5_of_attributes, md5_of_body


def test_md5_of_body_is_the_md5_of_its_utf8_bytes():
    assert md5_of_body("one flat white") == hashlib.md5(b"one flat white").hexdigest()
    assert md5_of_body("café") == hashlib.md5("café".encode()).hexdigest()


def test_md5_of_one_string_attribute_matches_the_aws_documentation_example():
    # The example in the SQS developer guide's "Calculating the MD5 message digest".
    attributes = {"SellerName": {"DataType": "String", "StringValue": "Example Store"}}
    assert md5_of_attributes(attributes) == "cd28f3b68aeee4b2eac9c66f2f694b58"


def test_md5_of_number_and_string_attributes_sorts_names_and_keeps_the_data_type():
    # The same vector the Go SDK-based emulator sqslite checks its digests against.
    attributes = {
        "ordinal": {"DataType": "Number", "StringValue": "1"},
        "category": {"DataType": "String", "StringValue": "test"},
    }
    assert md5_of_attributes(attributes) == "d21ae90c49061e927f57df5f5d72be1f"


def test_md5_of_a_binary_attribute_uses_transport_type_2_and_the_raw_bytes():
    binary = {"blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
    expected = hashlib.md5(
        b"\x00\x00\x00\x04blob" + b"\x00\x00\x00\x06Binary" + b"\x02" + b"\x00\x00\x00\x02\x00\x01"
    ).hexdigest()
    assert md5_of_attributes(binary) == expected
