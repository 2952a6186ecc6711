"""What redis-cli can write into a stream entry never makes decoding raise."""

from __future__ import annotations

from broker_adapters import wire
from broker_adapters.redis import codec

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_a_headers_field_nested_too_deep_is_kept_as_one_header():
    message = codec.decode_entry("1700000000000-0", {b"body": b"x", b"headers": DEEP}, 1)
    assert message.headers[codec.HEADERS].startswith("[[[")


def test_garbage_wire_fields_are_repaired_and_named():
    fields = {b"body": b"x", b"barista-timestamp": b"abc", b"barista-prior-attempts": b"-9"}
    message = codec.decode_entry("1700000000000-0", fields, 2)
    assert (message.timestamp, message.attempt) == (1700000000.0, 2)
    assert wire.MALFORMED in message.headers


def test_undecodable_bytes_in_a_field_are_replaced_not_raised():
    message = codec.decode_entry("1-0", {b"body": b"x", b"barista-trace-id": b"\xff\xfe"}, 1)
    assert message.trace_id == "\ufffd\ufffd"


def test_a_framed_payload_with_headers_nested_too_deep_is_read_as_a_plain_body():
    payload = codec.PAYLOAD_MAGIC + DEEP + b"\nbody"
    message = codec.decode_payload(payload)
    assert message.body == payload
