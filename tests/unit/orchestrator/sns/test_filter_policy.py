"""SNS filter policies, from the examples of AWS's filter policy documentation: a message
with the attributes of AWS's running example, and policies that do or do not let it through."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator.sns.filter_policy import FilterPolicyError, parse


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _number(value: float) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": str(value)}


def _array(*values: Any) -> dict[str, str]:
    return {"DataType": "String.Array", "StringValue": json.dumps(list(values))}


# AWS's example message: a store's order event.
ATTRIBUTES: dict[str, Any] = {
    "store": _string("example_corp"),
    "event": _string("order_placed"),
    "customer_interests": _array("soccer", "rugby", "hockey"),
    "price_usd": _number(210.75),
    "source_ip": _string("10.0.0.42"),
    "encrypted": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
}


def _attribute_match(policy: dict[str, Any], attributes: dict[str, Any] | None = None) -> bool:
    return parse(json.dumps(policy)).matches(
        ATTRIBUTES if attributes is None else attributes, "ignored"
    )


def _body_match(policy: dict[str, Any], body: Any) -> bool:
    text = body if isinstance(body, str) else json.dumps(body)
    return parse(json.dumps(policy), "MessageBody").matches({}, text)


def test_awss_example_policy_accepts_the_example_message() -> None:
    assert _attribute_match(
        {
            "store": ["example_corp"],
            "event": [{"anything-but": "order_cancelled"}],
            "customer_interests": ["rugby", "football", "baseball"],
            "price_usd": [{"numeric": [">=", 100]}],
        }
    )


@pytest.mark.parametrize(
    ("policy", "matches"),
    [
        ({"store": ["example_corp"]}, True),
        ({"store": ["other_corp"]}, False),
        ({"store": ["other_corp", "example_corp"]}, True),  # OR within a key
        ({"store": ["example_corp"], "event": ["order_cancelled"]}, False),  # AND across keys
        ({"customer_interests": ["rugby"]}, True),  # any element of a String.Array
        ({"customer_interests": ["tennis"]}, False),
        ({"price_usd": [210.75]}, True),  # an exact number
        ({"price_usd": ["210.75"]}, False),  # a string is not a number
        ({"missing": ["x"]}, False),
    ],
)
def test_exact_matches(policy: dict[str, Any], matches: bool) -> None:
    assert _attribute_match(policy) is matches


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ({"anything-but": "order_cancelled"}, True),
        ({"anything-but": ["order_placed", "order_cancelled"]}, False),
        ({"anything-but": {"prefix": "order_"}}, False),
        ({"anything-but": {"prefix": "refund_"}}, True),
        ({"anything-but": {"suffix": "_placed"}}, False),
        ({"anything-but": {"equals-ignore-case": "ORDER_PLACED"}}, False),
        ({"prefix": "order_"}, True),
        ({"prefix": "refund_"}, False),
        ({"suffix": "_placed"}, True),
        ({"suffix": "_shipped"}, False),
        ({"equals-ignore-case": "ORDER_Placed"}, True),
        ({"equals-ignore-case": "order"}, False),
    ],
)
def test_string_operators(condition: dict[str, Any], matches: bool) -> None:
    assert _attribute_match({"event": [condition]}) is matches


def test_anything_but_needs_the_attribute_present() -> None:
    assert not _attribute_match({"coupon": [{"anything-but": "none"}]})


def test_anything_but_numbers() -> None:
    assert _attribute_match({"price_usd": [{"anything-but": [100, 200]}]})
    assert not _attribute_match({"price_usd": [{"anything-but": 210.75}]})


@pytest.mark.parametrize(
    ("numeric", "matches"),
    [
        (["=", 210.75], True),
        (["=", 210], False),
        ([">", 0], True),
        ([">=", 210.75], True),
        (["<", 210.75], False),
        (["<=", 210.75], True),
        ([">", 0, "<=", 150], False),
        ([">", 200, "<", 300], True),
        ([">=", 210.75, "<", 210.76], True),
    ],
)
def test_numeric_ranges(numeric: list[Any], matches: bool) -> None:
    assert _attribute_match({"price_usd": [{"numeric": numeric}]}) is matches


def test_numeric_conditions_need_a_number_attribute() -> None:
    attributes = {"price_usd": _string("210.75")}
    assert not _attribute_match({"price_usd": [{"numeric": [">", 0]}]}, attributes)


def test_exists() -> None:
    assert _attribute_match({"store": [{"exists": True}]})
    assert not _attribute_match({"store": [{"exists": False}]})
    assert _attribute_match({"coupon": [{"exists": False}]})
    assert not _attribute_match({"coupon": [{"exists": True}]})


def test_binary_attributes_take_no_part_in_filtering() -> None:
    assert _attribute_match({"encrypted": [{"exists": False}]})


def test_ip_address_ranges() -> None:
    assert _attribute_match({"source_ip": [{"cidr": "10.0.0.0/24"}]})
    assert not _attribute_match({"source_ip": [{"cidr": "10.0.1.0/24"}]})
    assert not _attribute_match({"store": [{"cidr": "10.0.0.0/8"}]})  # not an address


def test_or_across_keys() -> None:
    policy = {
        "store": ["example_corp"],
        "$or": [{"event": ["order_cancelled"]}, {"price_usd": [{"numeric": [">", 100]}]}],
    }
    assert _attribute_match(policy)
    policy["$or"] = [{"event": ["order_cancelled"]}, {"price_usd": [{"numeric": ["<", 100]}]}]
    assert not _attribute_match(policy)


def test_several_conditions_on_a_key_are_ored() -> None:
    assert _attribute_match({"event": [{"prefix": "refund"}, {"suffix": "placed"}]})


# MessageBody scope

BODY = {
    "patient": {"firstName": "John", "lastName": "Doe", "age": 42},
    "store": "example_corp",
    "items": [{"sku": "flat-white", "cups": 2}, {"sku": "cortado", "cups": 1}],
    "note": None,
}


def test_body_scope_nested_keys() -> None:
    assert _body_match({"patient": {"firstName": ["John"]}}, BODY)
    assert not _body_match({"patient": {"firstName": ["Jane"]}}, BODY)
    assert _body_match(
        {"patient": {"age": [{"numeric": [">", 40]}]}, "store": ["example_corp"]}, BODY
    )


def test_body_scope_searches_arrays_of_objects() -> None:
    assert _body_match({"items": {"sku": ["cortado"]}}, BODY)
    assert not _body_match({"items": {"sku": ["latte"]}}, BODY)


def test_body_scope_null_and_exists() -> None:
    assert _body_match({"note": [None]}, BODY)
    assert _body_match({"coupon": [{"exists": False}]}, BODY)
    assert _body_match({"patient": {"lastName": [{"exists": True}]}}, BODY)


def test_body_scope_or_inside_a_nested_key() -> None:
    policy = {"patient": {"$or": [{"firstName": ["Jane"]}, {"lastName": ["Doe"]}]}}
    assert _body_match(policy, BODY)


def test_body_scope_does_not_match_a_body_that_is_not_a_json_object() -> None:
    assert not _body_match({"store": ["example_corp"]}, "plain text")
    assert not _body_match({"store": ["example_corp"]}, ["example_corp"])


# Refusals


@pytest.mark.parametrize(
    ("policy", "scope", "reason"),
    [
        ("not json", "MessageAttributes", "parse JSON"),
        ('["a"]', "MessageAttributes", "JSON object"),
        ('{"a": "b"}', "MessageAttributes", "must be an array"),
        ('{"a": []}', "MessageAttributes", "Empty arrays"),
        ('{"a": {"b": ["c"]}}', "MessageAttributes", "does not support nested"),
        ('{"a": [{"wildcard": "x*"}]}', "MessageAttributes", "Unrecognized match type"),
        ('{"a": [{"numeric": [">", "x"]}]}', "MessageAttributes", "must be numeric"),
        ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', "MessageAttributes", "range operator"),
        ('{"a": [{"numeric": [">", 5, "<", 1]}]}', "MessageAttributes", "Bottom must be less"),
        ('{"a": [{"numeric": [">", 1e10]}]}', "MessageAttributes", "within"),
        ('{"a": [{"exists": "yes"}]}', "MessageAttributes", "true or false"),
        ('{"a": [{"cidr": "10.0.0.300/24"}]}', "MessageAttributes", "Malformed CIDR"),
        ('{"a": [{"prefix": 1}]}', "MessageAttributes", "must be a string"),
        ('{"a": [{"prefix": "x", "suffix": "y"}]}', "MessageAttributes", "exactly one"),
        ('{"$or": [{"a": ["b"]}]}', "MessageAttributes", "at least two"),
        ('{"a": ["1"]}', "Body", "FilterPolicyScope"),
    ],
)
def test_invalid_policies_are_refused(policy: str, scope: str, reason: str) -> None:
    with pytest.raises(FilterPolicyError, match=reason):
        parse(policy, scope)


def test_at_most_five_keys() -> None:
    parse(json.dumps({f"k{i}": ["v"] for i in range(5)}))
    with pytest.raises(FilterPolicyError, match="more than 5 keys"):
        parse(json.dumps({f"k{i}": ["v"] for i in range(6)}))


def test_at_most_150_combinations() -> None:
    parse(json.dumps({"a": list(range(10)), "b": list(range(15))}))
    with pytest.raises(FilterPolicyError, match="too complex"):
        parse(json.dumps({"a": list(range(10)), "b": list(range(16))}))


def test_or_branches_count_their_keys_separately() -> None:
    branch = {f"k{i}": ["v"] for i in range(4)}
    parse(json.dumps({"a": ["x"], "$or": [branch, {"z": ["y"]}]}))
