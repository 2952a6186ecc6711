"""Decoding what a plain client put on a broker never raises; repairs are named."""

from __future__ import annotations

import pytest

from broker_adapters import wire


def decoded(headers: dict[str, str], receives: int = 1):
    return wire.decode(b"{}", headers, default_id="m-0", default_timestamp=7.0, receives=receives)


@pytest.mark.parametrize("value", ["abc", "", " ", "nan", "inf", "-inf", "-5", "1e999", "0x10"])
def test_a_timestamp_that_is_not_a_time_gets_the_brokers(value: str):
    message = decoded({wire.TIMESTAMP: value})
    assert message.timestamp == 7.0
    if value.strip():
        assert wire.TIMESTAMP in message.headers[wire.MALFORMED]


@pytest.mark.parametrize("value", ["-1000000", "-1", "abc", "1.5", "9" * 5000, "0x10"])
def test_an_attempt_count_that_is_not_a_whole_number_from_zero_counts_as_zero(value: str):
    message = decoded({wire.PRIOR_ATTEMPTS: value}, receives=2)
    assert message.attempt == 2
    assert wire.PRIOR_ATTEMPTS in message.headers[wire.MALFORMED]


def test_each_repair_is_named_and_the_reason_stays_short():
    message = decoded({wire.TIMESTAMP: "x" * 10_000, wire.PRIOR_ATTEMPTS: "-3"})
    reason = message.headers[wire.MALFORMED]
    assert reason.count(";") == 1
    assert len(reason) < 200


def test_well_formed_headers_are_not_flagged():
    headers = wire.encode_headers("m-1", 1700000000.5, prior_attempts=2)
    message = decoded(headers)
    assert (message.timestamp, message.attempt) == (1700000000.5, 3)
    assert wire.MALFORMED not in message.headers


def test_the_flag_travels_with_a_copy_of_the_message():
    first = decoded({wire.TIMESTAMP: "abc"})
    again = wire.decode(b"{}", wire.carry_headers(first), default_id="m-9", default_timestamp=0.0)
    assert again.headers[wire.MALFORMED] == first.headers[wire.MALFORMED]
    assert again.timestamp == 7.0
