"""Message attributes as broker headers, and back."""

from __future__ import annotations

import pytest

from orchestrator.errors import AwsError
from orchestrator.sqs.messages import check_attributes, from_headers, selected, to_headers


def test_attributes_travel_as_plain_headers_and_come_back_with_their_types():
    attributes = check_attributes(
        {
            "table": {"DataType": "String", "StringValue": "4"},
            "cups": {"DataType": "Number", "StringValue": "2"},
            "photo": {"DataType": "Binary", "BinaryValue": b"\x89PNG"},
            "size": {"DataType": "String.custom", "StringValue": "large"},
        }
    )
    headers = to_headers(attributes)
    assert headers["table"] == "4", "a plain client reads a String attribute as is"
    assert from_headers(headers) == attributes


def test_headers_from_other_clients_read_as_string_attributes_and_reserved_ones_do_not():
    headers = {"barista-group-id": "t4", "origin": "kcat", "barista-dead-letter-reason": "x"}
    assert from_headers(headers) == {"origin": {"DataType": "String", "StringValue": "kcat"}}


@pytest.mark.parametrize("name", ["AWS.thing", "amazon.x", ".lead", "trail.", "a..b", "barista-id"])
def test_reserved_or_malformed_attribute_names_are_refused(name: str):
    with pytest.raises(AwsError):
        check_attributes({name: {"DataType": "String", "StringValue": "v"}})


def test_at_most_ten_attributes():
    many = {f"a{n}": {"DataType": "String", "StringValue": "v"} for n in range(11)}
    with pytest.raises(AwsError, match="exceeds"):
        check_attributes(many)


def test_a_value_must_match_its_type():
    with pytest.raises(AwsError):
        check_attributes({"a": {"DataType": "Binary", "StringValue": "v"}})
    with pytest.raises(AwsError):
        check_attributes({"a": {"DataType": "Decimal", "StringValue": "1"}})


def test_receive_selects_attributes_by_name_prefix_or_all():
    attributes = {
        "order.table": {"DataType": "String", "StringValue": "4"},
        "order.cups": {"DataType": "Number", "StringValue": "2"},
        "trace": {"DataType": "String", "StringValue": "t"},
    }
    assert selected(attributes, []) == {}
    assert selected(attributes, ["All"]) == attributes
    assert set(selected(attributes, ["order.*"])) == {"order.table", "order.cups"}
    assert set(selected(attributes, ["trace"])) == {"trace"}
