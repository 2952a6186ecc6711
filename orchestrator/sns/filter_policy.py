"""SNS subscription filter policies: parse and check a policy, then match messages against it.

A policy is a JSON object. Each key names a message attribute (``MessageAttributes`` scope) or
a key of the JSON message body, nested as the body nests it (``MessageBody`` scope). A key's
value is a list of conditions, any one of which may match (OR); every key must match (AND);
``"$or": [policy, ...]`` matches when any of its policies does. Conditions:

- ``"rugby"``, ``42``, ``true``, ``null``: exact match (numbers compare as numbers);
- ``{"anything-but": x}``: the key is present and not ``x`` (a value, a list of values, or
  ``{"prefix": …}`` / ``{"suffix": …}`` / ``{"equals-ignore-case": …}``);
- ``{"prefix": "s"}``, ``{"suffix": "s"}``, ``{"equals-ignore-case": "s"}``;
- ``{"numeric": [">", 0, "<=", 5]}`` or ``{"numeric": ["=", 3.5]}``;
- ``{"exists": true | false}``: the key is present, or absent;
- ``{"cidr": "10.0.0.0/24"}``: a string value that is an IP address in that network.

A ``String.Array`` attribute (or a JSON array in the body) matches when any of its elements
does. ``Binary`` attributes take no part in filtering, as in SNS. AWS's limits apply: at most
5 keys per policy path, at most 150 combinations of values.

The module is pure: no I/O, no AWS errors (``FilterPolicyError`` carries the message the API
layer wraps in ``InvalidParameter``).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Scope = Literal["MessageAttributes", "MessageBody"]
SCOPES: tuple[Scope, ...] = ("MessageAttributes", "MessageBody")
MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_NUMBER = 1e9
NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
OPERATORS = (
    "anything-but",
    "prefix",
    "suffix",
    "equals-ignore-case",
    "numeric",
    "exists",
    "cidr",
)
_MISSING = object()


class FilterPolicyError(ValueError):
    """The policy is not one SNS would accept; the message says why."""


@dataclass(frozen=True)
class FilterPolicy:
    """A checked policy and the scope it applies to."""

    document: Mapping[str, Any]
    scope: Scope = "MessageAttributes"

    def matches(self, attributes: Mapping[str, Mapping[str, Any]], body: str | bytes) -> bool:
        """Whether a message with these MessageAttributes (AWS's shape) and body passes."""
        if self.scope == "MessageAttributes":
            values = attribute_values(attributes)
            return _matches_policy(self.document, lambda key: values.get(key, _MISSING))
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return False
        if not isinstance(document, dict):
            return False
        return _matches_body(self.document, document)


def parse(text: str, scope: str = "MessageAttributes") -> FilterPolicy:
    """Parse and check a FilterPolicy attribute; raises FilterPolicyError."""
    if scope not in SCOPES:
        raise FilterPolicyError(
            f"FilterPolicyScope: Invalid value [{scope}]. Please use either MessageBody or "
            "MessageAttributes"
        )
    try:
        document = json.loads(text)
    except ValueError as error:
        raise FilterPolicyError(f"FilterPolicy: failed to parse JSON. {error}") from error
    if not isinstance(document, dict):
        raise FilterPolicyError("FilterPolicy: Filter policy must be a JSON object")
    _check(document, nested=scope == "MessageBody", path="")
    keys = _key_count(document)
    if keys > MAX_KEYS:
        raise FilterPolicyError(
            f"FilterPolicy: Filter policy can not have more than {MAX_KEYS} keys"
        )
    combinations = _combinations(document)
    if combinations > MAX_COMBINATIONS:
        raise FilterPolicyError(
            f"FilterPolicy: Filter policy is too complex: {combinations} combinations, "
            f"more than {MAX_COMBINATIONS}"
        )
    return FilterPolicy(document, "MessageBody" if scope == "MessageBody" else "MessageAttributes")


def attribute_values(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Any]]:
    """What each MessageAttribute offers to matching: a list of strings or numbers."""
    values: dict[str, list[Any]] = {}
    for name, attribute in attributes.items():
        data_type = str(attribute.get("DataType", "String"))
        text = attribute.get("StringValue")
        if data_type.startswith("Binary") or not isinstance(text, str):
            continue
        if data_type.startswith("Number"):
            number = _number(text)
            values[name] = [number] if number is not None else []
        elif data_type == "String.Array":
            try:
                array = json.loads(text)
            except ValueError:
                array = None
            values[name] = array if isinstance(array, list) else []
        else:
            values[name] = [text]
    return values


# Checking


def _check(policy: Mapping[str, Any], *, nested: bool, path: str) -> None:
    if not policy:
        raise FilterPolicyError(f"FilterPolicy: {path or 'the policy'} must not be empty")
    for key, value in policy.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise FilterPolicyError(
                    f"FilterPolicy: {where} must be an array of at least two objects"
                )
            for branch in value:
                if not isinstance(branch, dict):
                    raise FilterPolicyError(f"FilterPolicy: {where} must contain objects")
                _check(branch, nested=nested, path=path)
        elif isinstance(value, dict):
            if not nested:
                raise FilterPolicyError(
                    f"FilterPolicy: Filter policy scope MessageAttributes does not support "
                    f"nested filter policy ({where})"
                )
            _check(value, nested=nested, path=where)
        elif isinstance(value, list):
            if not value:
                raise FilterPolicyError(f"FilterPolicy: Empty arrays are not allowed ({where})")
            for condition in value:
                _check_condition(condition, where)
        else:
            raise FilterPolicyError(
                f'FilterPolicy: "{where}" must be an object or an array'
                if nested
                else f'FilterPolicy: "{where}" must be an array'
            )


def _check_literal(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        if not -MAX_NUMBER <= value <= MAX_NUMBER or not math.isfinite(value):
            raise FilterPolicyError(
                f"FilterPolicy: Numeric value {value} must be within "
                f"[-{MAX_NUMBER:.0f}, {MAX_NUMBER:.0f}] ({where})"
            )
        return
    raise FilterPolicyError(
        f"FilterPolicy: Match value must be String, number, true, false, or null ({where})"
    )


def _check_condition(condition: Any, where: str) -> None:
    if not isinstance(condition, dict):
        _check_literal(condition, where)
        return
    if len(condition) != 1:
        raise FilterPolicyError(
            f"FilterPolicy: an operator object must have exactly one operator ({where})"
        )
    [(operator, operand)] = condition.items()
    if operator not in OPERATORS:
        raise FilterPolicyError(
            f"FilterPolicy: Unrecognized match type {operator} ({where}); Barista knows "
            + ", ".join(OPERATORS)
        )
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(operand, str):
            raise FilterPolicyError(
                f"FilterPolicy: {operator} match pattern must be a string ({where})"
            )
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise FilterPolicyError(
                f"FilterPolicy: exists match pattern must be either true or false ({where})"
            )
    elif operator == "cidr":
        try:
            ipaddress.ip_network(operand, strict=False)
        except (TypeError, ValueError) as error:
            raise FilterPolicyError(
                f"FilterPolicy: Malformed CIDR {operand!r} ({where})"
            ) from error
    elif operator == "numeric":
        _check_numeric(operand, where)
    else:  # anything-but
        _check_anything_but(operand, where)


def _check_anything_but(operand: Any, where: str) -> None:
    if isinstance(operand, dict):
        if len(operand) != 1 or next(iter(operand)) not in (
            "prefix",
            "suffix",
            "equals-ignore-case",
        ):
            raise FilterPolicyError(
                f"FilterPolicy: Unsupported anything-but pattern {json.dumps(operand)} ({where})"
            )
        if not isinstance(next(iter(operand.values())), str):
            raise FilterPolicyError(
                f"FilterPolicy: anything-but pattern must be a string ({where})"
            )
        return
    values = operand if isinstance(operand, list) else [operand]
    if not values:
        raise FilterPolicyError(f"FilterPolicy: Empty arrays are not allowed ({where})")
    for value in values:
        if isinstance(value, dict | list) or value is None or isinstance(value, bool):
            raise FilterPolicyError(
                f"FilterPolicy: anything-but takes strings or numbers ({where})"
            )
        _check_literal(value, where)


def _check_numeric(operand: Any, where: str) -> None:
    bad = FilterPolicyError(f"FilterPolicy: Value of numeric must be an array ({where})")
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise bad
    pairs = [(operand[i], operand[i + 1]) for i in range(0, len(operand), 2)]
    for operator, number in pairs:
        if operator not in NUMERIC_OPERATORS:
            raise FilterPolicyError(
                f"FilterPolicy: Unrecognized numeric range operator: {operator} ({where})"
            )
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise FilterPolicyError(f"FilterPolicy: Value of {operator} must be numeric ({where})")
        _check_literal(number, where)
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in (">", ">=") or high_op not in ("<", "<="):
            raise FilterPolicyError(
                f"FilterPolicy: Bad numeric range operator: a range is [>|>=, low, <|<=, high] "
                f"({where})"
            )
        if low >= high:
            raise FilterPolicyError(
                f"FilterPolicy: Bottom must be less than top in a numeric range ({where})"
            )


def _key_count(policy: Mapping[str, Any]) -> int:
    """Leaf keys along the widest path (each ``$or`` branch counts on its own)."""
    count = 0
    branches = 0
    for key, value in policy.items():
        if key == "$or":
            branches = max(_key_count(branch) for branch in value)
        elif isinstance(value, dict):
            count += _key_count(value)
        else:
            count += 1
    return count + branches


def _combinations(policy: Mapping[str, Any]) -> int:
    total = 1
    for key, value in policy.items():
        if key == "$or":
            total *= sum(_combinations(branch) for branch in value)
        elif isinstance(value, dict):
            total *= _combinations(value)
        else:
            total *= len(value)
    return total


# Matching


def _matches_policy(policy: Mapping[str, Any], lookup: Callable[[str], Any]) -> bool:
    for key, conditions in policy.items():
        if key == "$or":
            if not any(_matches_policy(branch, lookup) for branch in conditions):
                return False
        elif not _matches_key(conditions, lookup(key)):
            return False
    return True


def _matches_body(policy: Mapping[str, Any], document: Any) -> bool:
    """Nested keys walk the body; arrays of objects are searched element by element."""
    for key, conditions in policy.items():
        if key == "$or":
            if not any(_matches_body(branch, document) for branch in conditions):
                return False
            continue
        found = _children(document, key)
        if isinstance(conditions, dict):
            if not any(_matches_body(conditions, child) for child in found):
                return False
        else:
            values: Any = _MISSING
            if found:
                values = []
                for child in found:
                    values.extend(child if isinstance(child, list) else [child])
            if not _matches_key(conditions, values):
                return False
    return True


def _children(document: Any, key: str) -> list[Any]:
    if isinstance(document, dict):
        return [document[key]] if key in document else []
    if isinstance(document, list):
        return [child for item in document for child in _children(item, key)]
    return []


def _matches_key(conditions: Sequence[Any], values: Any) -> bool:
    present = values is not _MISSING
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if condition["exists"] == present:
                return True
        elif present and any(_matches_value(condition, value) for value in values):
            return True
    return False


def _matches_value(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return _equal(condition, value)
    [(operator, operand)] = condition.items()
    if operator == "anything-but":
        return not _anything_but_excludes(operand, value)
    if operator == "numeric":
        return _is_number(value) and _in_range(operand, float(value))
    test = _STRING_TESTS.get(operator)
    return isinstance(value, str) and test is not None and test(value, operand)


def _in_network(value: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


_STRING_TESTS: dict[str, Callable[[str, Any], bool]] = {
    "prefix": lambda value, operand: value.startswith(operand),
    "suffix": lambda value, operand: value.endswith(operand),
    "equals-ignore-case": lambda value, operand: value.casefold() == str(operand).casefold(),
    "cidr": _in_network,
}


def _anything_but_excludes(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        return _matches_value(operand, value)
    excluded = operand if isinstance(operand, list) else [operand]
    return any(_equal(item, value) for item in excluded)


def _equal(literal: Any, value: Any) -> bool:
    if isinstance(literal, bool) or literal is None or isinstance(value, bool) or value is None:
        return literal is value or (
            isinstance(literal, bool) and isinstance(value, bool) and literal == value
        )
    if isinstance(literal, str):
        return isinstance(value, str) and literal == value
    return _is_number(value) and float(literal) == float(value)


def _in_range(operand: Sequence[Any], number: float) -> bool:
    tests = {
        "=": lambda bound: number == bound,
        "<": lambda bound: number < bound,
        "<=": lambda bound: number <= bound,
        ">": lambda bound: number > bound,
        ">=": lambda bound: number >= bound,
    }
    return all(tests[operand[i]](float(operand[i + 1])) for i in range(0, len(operand), 2))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
