from __future__ import annotations

import pytest

from broker_adapters import Message, wire


def test_headers_round_trip_through_decode():
    headers = wire.encode_headers(
        "m-1",
        1700000000.25,
        group_id="table-1",
        trace_id="t-9",
        dedup_id="d-3",
        headers={"content-type": "application/json"},
    )
    message = wire.decode(b"{}", headers, default_id="unused", default_timestamp=0.0)
    assert message == Message(
        body=b"{}",
        id="m-1",
        timestamp=1700000000.25,
        attempt=1,
        group_id="table-1",
        trace_id="t-9",
        dedup_id="d-3",
        headers={"content-type": "application/json"},
    )


def test_user_headers_may_not_use_the_reserved_prefix():
    with pytest.raises(ValueError, match="reserved"):
        wire.encode_headers("m-1", 1.0, headers={"barista-id": "forged"})


def test_a_plain_client_message_gets_defaults():
    message = wire.decode(b"hello", {}, default_id="orders-0-42", default_timestamp=5.0)
    assert (message.id, message.timestamp, message.attempt, message.group_id) == (
        "orders-0-42",
        5.0,
        1,
        None,
    )


def test_carried_headers_keep_counting_attempts_and_add_the_reason():
    received = Message(body=b"x", id="m-1", timestamp=2.0, attempt=3, group_id="g")
    carried = wire.carry_headers(received, {"barista-dead-letter-reason": "bad"})
    again = wire.decode(b"x", carried, default_id="", default_timestamp=0.0, receives=1)
    assert (again.id, again.attempt, again.group_id) == ("m-1", 4, "g")
    assert again.headers == {"barista-dead-letter-reason": "bad"}


def test_fallback_ids_are_stable_per_body():
    assert wire.fallback_id(b"a") == wire.fallback_id(b"a") != wire.fallback_id(b"b")
