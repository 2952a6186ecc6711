"""Request bodies as pydantic models, and their failures in AWS's words.

Every action's parameters are a :class:`Request` subclass whose fields are AWS's names in
snake_case; the wire names are the PascalCase AWS spells (``auto_scaling_group_name`` ↔
``AutoScalingGroupName``), with explicit aliases where AWS's capitals are irregular
(``OKActions``). Unknown fields are refused *by name* rather than ignored, because a typo in
``MinSize`` silently dropped would create a group the caller did not ask for.

A failure becomes one :class:`~orchestrator.errors.ValidationError` that reads like AWS's:
``1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy
constraint: Member must not be null``. The numbers and strings a CLI shorthand sends
(``MinSize=1`` arrives as ``"1"``) are accepted, as AWS's query protocol accepts them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel, to_pascal

from orchestrator.errors import AwsError, ValidationError

R = TypeVar("R", bound="Request")


class Request(BaseModel):
    """Base of every request body: PascalCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
    )


def _member_path(location: Sequence[str | int]) -> str:
    """AWS names members in lowerCamelCase and counts list members from 1."""
    parts = []
    for part in [
        p for item in location for p in (item.split(".") if isinstance(item, str) else [item])
    ]:
        if isinstance(part, int):
            parts.append(f"member.{part + 1}")
        else:
            parts.append(to_camel(part) if "_" in part else part[:1].lower() + part[1:])
    return ".".join(parts)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    return f"'{json.dumps(value)}'"


# pydantic error type -> AWS's constraint sentence ({ctx} fields filled from pydantic's context).
_CONSTRAINTS = {
    "missing": "Member must not be null",
    "string_too_short": "Member must have length greater than or equal to {min_length}",
    "too_short": "Member must have length greater than or equal to {min_length}",
    "string_too_long": "Member must have length less than or equal to {max_length}",
    "too_long": "Member must have length less than or equal to {max_length}",
    "greater_than_equal": "Member must have value greater than or equal to {ge}",
    "greater_than": "Member must have value greater than {gt}",
    "less_than_equal": "Member must have value less than or equal to {le}",
    "less_than": "Member must have value less than {lt}",
    "int_parsing": "Member must be an integer",
    "int_type": "Member must be an integer",
    "int_from_float": "Member must be an integer",
    "float_parsing": "Member must be a number",
    "float_type": "Member must be a number",
    "bool_parsing": "Member must be a boolean",
    "bool_type": "Member must be a boolean",
    "string_type": "Member must be a string",
    "string_pattern_mismatch": "Member must satisfy regular expression pattern: {pattern}",
    "list_type": "Member must be a list",
    "dict_type": "Member must be a structure",
    "model_type": "Member must be a structure",
    "model_attributes_type": "Member must be a structure",
    "literal_error": "Member must satisfy enum value set: [{expected}]",
    "enum": "Member must satisfy enum value set: [{expected}]",
}


def _constraint(error: Mapping[str, Any]) -> str:
    template = _CONSTRAINTS.get(error["type"])
    if template is None:
        return f"Member {error['msg'][:1].lower()}{error['msg'][1:]}"
    try:
        context = {
            key: int(value) if isinstance(value, float) and value.is_integer() else value
            for key, value in (error.get("ctx") or {}).items()
        }
        return template.format(**context)
    except KeyError:
        return f"Member {error['msg'][:1].lower()}{error['msg'][1:]}"


def validation_error(
    error: pydantic.ValidationError, model: type[BaseModel], at: str = ""
) -> AwsError:
    """One AWS-style ValidationError for everything pydantic found wrong.

    Unknown members are reported the way the AWS SDKs report them, with the names that are
    valid, so the caller sees both the typo and the fix.
    """
    problems = error.errors()
    unknown = [p for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        first = unknown[0]
        location = [*([at] if at else []), *(str(part) for part in first["loc"])]
        owner = _model_at(model, first["loc"][:-1])
        valid = ", ".join(field.alias or name for name, field in owner.model_fields.items())
        where = f" at {'.'.join(location[:-1])}" if len(location) > 1 else ""
        return ValidationError(
            f'Unknown parameter in input{where}: "{location[-1]}", must be one of: {valid}'
        )
    prefix = f"{_member_path([at])}." if at else ""
    messages = [
        f"Value {_value(None if p['type'] == 'missing' else p.get('input'))} at "
        f"'{prefix}{_member_path(p['loc'])}' failed to satisfy constraint: {_constraint(p)}"
        for p in problems
    ]
    count = len(messages)
    noun = "error" if count == 1 else "errors"
    return ValidationError(f"{count} validation {noun} detected: " + "; ".join(messages))


def _model_at(model: type[BaseModel], location: Sequence[str | int]) -> type[BaseModel]:
    """The model that owns a nested member, to list its valid names."""
    current: type[BaseModel] = model
    for part in location:
        if isinstance(part, int):
            continue
        field = next(
            (f for n, f in current.model_fields.items() if part in (n, f.alias)),
            None,
        )
        if field is None:
            return current
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            for option in (candidate, *inner):
                if isinstance(option, type) and issubclass(option, BaseModel):
                    current = option
                    break
            else:
                continue
            break
    return current


def parse(model: type[R], params: Mapping[str, Any], at: str = "") -> R:
    """Validate a request body against ``model``, or raise AWS's ValidationError.

    ``at`` names where a nested document sits in the request (``LaunchTemplateData``), so the
    message points at the member the caller wrote.
    """
    if not isinstance(params, Mapping):
        raise ValidationError(
            f"Value {_value(params)} at '{_member_path([at]) if at else 'request'}' failed to "
            "satisfy constraint: Member must be a structure"
        )
    try:
        return model.model_validate(dict(params))
    except pydantic.ValidationError as error:
        raise validation_error(error, model, at) from None


def iso(epoch: float) -> str:
    """AWS's JSON timestamps: UTC, millisecond precision, ``Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str, member: str) -> float:
    """An ISO 8601 time (``2026-11-28T09:00:00Z``) as epoch seconds; naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"Value '{text}' at '{member}' failed to satisfy constraint: Member must be an "
            "ISO 8601 date-time such as 2026-11-28T09:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
