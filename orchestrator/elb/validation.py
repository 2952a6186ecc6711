"""ELBv2's rules for names, health checks, attributes, listeners and rules, with AWS's errors.

Each check raises ``AwsError`` with the code ELBv2 answers (``ValidationError``,
``DuplicateListener``, ``PriorityInUse``, ``IncompatibleProtocols``…) and a message close to
AWS's, so a caller that handles AWS's errors handles Barista's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from orchestrator.elb.model import (
    ATTRIBUTE_KEYS,
    HTTP_PROTOCOLS,
    LISTENER_PROTOCOLS,
    Action,
    ActionType,
    ConditionField,
    FixedResponseConfig,
    HealthCheck,
    LoadBalancer,
    LoadBalancerType,
    LoadBalancingAlgorithm,
    Protocol,
    RedirectConfig,
    RuleCondition,
    TargetGroup,
    TargetGroupAttributes,
)
from orchestrator.errors import AwsError, ValidationError

MAX_NAME_LENGTH = 32
MAX_HEADER_NAME_LENGTH = 40
MAX_CONDITION_VALUE_LENGTH = 128
MAX_MESSAGE_BODY_LENGTH = 1024
MAX_REDIRECT_PART_LENGTH = 128
# RFC 9110's token: what AWS allows in HttpHeaderName (and all an HTTP field name can be).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METHOD = re.compile(r"[A-Za-z_-]{1,40}")
CONTENT_TYPES = (
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
)
_NAME = re.compile(r"^[A-Za-z0-9-]+$")
MAX_PRIORITY = 50000
MAX_WEIGHT = 999
# At most one condition of these fields per rule (http-header may repeat).
_SINGLE_CONDITIONS = (
    ConditionField.PATH_PATTERN,
    ConditionField.HOST_HEADER,
    ConditionField.HTTP_REQUEST_METHOD,
)


def _control_characters(text: str) -> bool:
    return any(ord(char) < 0x20 or ord(char) == 0x7F for char in text)


def header_name(name: str) -> None:
    """``HttpHeaderName``: an RFC 9110 token of at most 40 characters, as on AWS."""
    if len(name) > MAX_HEADER_NAME_LENGTH:
        raise ValidationError(
            f"HTTP header name '{name[:64]}' cannot be longer than "
            f"{MAX_HEADER_NAME_LENGTH} characters"
        )
    if not _HEADER_NAME.fullmatch(name):
        raise ValidationError(
            f"HTTP header name {name!r} is not valid: a header name is letters, digits and "
            "!#$%&'*+.^_`|~- only (an RFC 9110 token)"
        )


def condition_value(field: ConditionField, value: str) -> None:
    """A condition value: at most 128 characters and no control characters."""
    if len(value) > MAX_CONDITION_VALUE_LENGTH:
        raise ValidationError(
            f"A '{field}' condition value cannot be longer than "
            f"{MAX_CONDITION_VALUE_LENGTH} characters"
        )
    if _control_characters(value):
        raise ValidationError(f"A '{field}' condition value cannot contain control characters")
    if field is ConditionField.HTTP_REQUEST_METHOD and not _METHOD.fullmatch(value):
        raise ValidationError(
            f"HTTP request method '{value}' can only contain A-Z, hyphens (-) and underscores (_)"
        )


def constraint(value: object, member: str, low: int, high: int) -> None:
    """AWS's generic range message for an integer member."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"Value '{value}' at '{member}' must be an integer")
    if value < low:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {high}"
        )


def resource_name(kind: str, name: str) -> None:
    """Load balancer and target group names: 1-32 alphanumerics or hyphens, no edge hyphen."""
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"{kind} name '{name}' cannot be longer than '32' characters")
    if not name or not _NAME.match(name):
        raise ValidationError(
            f"{kind} name '{name}' can only contain characters that are alphanumeric "
            "characters or hyphens(-)"
        )
    if name.startswith("-") or name.endswith("-"):
        raise ValidationError(f"{kind} name '{name}' cannot begin or end with '-'")
    if kind == "Load balancer" and name.startswith("internal-"):
        raise ValidationError(f"Load balancer name '{name}' cannot begin with 'internal-'")


def health_check(check: HealthCheck, target_group_protocol: Protocol) -> None:
    constraint(check.interval_seconds, "healthCheckIntervalSeconds", 5, 300)
    constraint(check.timeout_seconds, "healthCheckTimeoutSeconds", 2, 120)
    constraint(check.healthy_threshold_count, "healthyThresholdCount", 2, 10)
    constraint(check.unhealthy_threshold_count, "unhealthyThresholdCount", 2, 10)
    if check.timeout_seconds >= check.interval_seconds:
        raise ValidationError(
            f"Health check timeout '{check.timeout_seconds}' must be smaller than the "
            f"interval '{check.interval_seconds}'"
        )
    if check.port != "traffic-port":
        if not check.port.isdigit():
            raise ValidationError(
                f"Health check port '{check.port}' must be 'traffic-port' or a number"
            )
        constraint(int(check.port), "healthCheckPort", 1, 65535)
    if check.protocol not in (Protocol.HTTP, Protocol.HTTPS, Protocol.TCP):
        raise ValidationError(f"Health check protocol '{check.protocol}' is not supported")
    if target_group_protocol in HTTP_PROTOCOLS and check.protocol is Protocol.TCP:
        raise ValidationError(
            f"Health check protocol 'TCP' is not supported for target groups with "
            f"protocol '{target_group_protocol}'"
        )
    if check.protocol in HTTP_PROTOCOLS:
        if not check.path.startswith("/"):
            raise ValidationError("Health check path must begin with a '/' character")
        matcher(check.matcher or "200")


def matcher(http_code: str) -> None:
    """``200``, ``200,202`` or ``200-299``; codes within 200-499 as on an ALB."""
    for part in http_code.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
            raise ValidationError(f"Health check matcher HTTP code '{http_code}' is not valid")
        if not all(200 <= int(b) <= 499 for b in bounds):
            raise ValidationError(
                f"Health check matcher HTTP code '{http_code}' must be within '200-499' inclusive"
            )


def attributes(values: TargetGroupAttributes) -> None:
    constraint(
        values.deregistration_delay_timeout_seconds, "deregistration_delay.timeout_seconds", 0, 3600
    )
    slow_start = values.slow_start_duration_seconds
    if slow_start != 0:
        constraint(slow_start, "slow_start.duration_seconds", 30, 900)
    constraint(
        values.stickiness_lb_cookie_duration_seconds,
        "stickiness.lb_cookie.duration_seconds",
        1,
        604800,
    )
    if values.stickiness_type != "lb_cookie":
        raise ValidationError(
            f"Stickiness type '{values.stickiness_type}' is not supported; use 'lb_cookie'"
        )


def attribute_updates(updates: dict[str, str]) -> dict[str, object]:
    """AWS's Key/Value strings as typed ``TargetGroupAttributes`` fields."""
    typed: dict[str, object] = {}
    for key, value in updates.items():
        field = ATTRIBUTE_KEYS.get(key)
        if field is None:
            raise ValidationError(f"Target group attribute key '{key}' is not recognized")
        if field == "stickiness_enabled":
            if value not in ("true", "false"):
                raise ValidationError(f"Target group attribute '{key}' must be 'true' or 'false'")
            typed[field] = value == "true"
        elif field == "load_balancing_algorithm_type":
            try:
                typed[field] = LoadBalancingAlgorithm(value)
            except ValueError:
                raise ValidationError(
                    f"Target group attribute '{key}' must be one of "
                    "'round_robin, least_outstanding_requests, weighted_random'"
                ) from None
        elif field == "stickiness_type":
            typed[field] = value
        else:
            if not value.lstrip("-").isdigit():
                raise ValidationError(f"Target group attribute '{key}' must be an integer")
            typed[field] = int(value)
    return typed


def listener(
    load_balancer: LoadBalancer,
    protocol: Protocol,
    port: int,
    default_actions: tuple[Action, ...],
    target_groups: dict[str, TargetGroup],
    ports_in_use: Iterable[int],
) -> None:
    allowed = LISTENER_PROTOCOLS[load_balancer.type]
    if protocol not in allowed:
        raise ValidationError(
            f"Listener protocol '{protocol}' must be one of '{', '.join(allowed)}'"
        )
    constraint(port, "port", 1, 65535)
    if port in set(ports_in_use):
        raise AwsError(
            "DuplicateListener", "A listener already exists on this port for this load balancer"
        )
    actions(load_balancer, default_actions, target_groups)


def actions(
    load_balancer: LoadBalancer, values: tuple[Action, ...], target_groups: dict[str, TargetGroup]
) -> None:
    if len(values) != 1:
        raise ValidationError(
            "Exactly one action must be specified (Barista has no authenticate actions)"
        )
    action = values[0]
    is_alb = load_balancer.type is LoadBalancerType.APPLICATION
    if action.type is not ActionType.FORWARD and not is_alb:
        raise ValidationError(f"Action type '{action.type}' must be one of 'forward'")
    if action.type is ActionType.FORWARD:
        forward(load_balancer, action, target_groups)
    elif action.type is ActionType.FIXED_RESPONSE:
        response = action.fixed_response
        if response is None or not re.fullmatch(r"[245]\d\d", response.status_code):
            raise ValidationError("Fixed response status code must match '^(2|4|5)\\d\\d$'")
        fixed_response(response)
    elif action.redirect is None or action.redirect.status_code not in ("HTTP_301", "HTTP_302"):
        raise ValidationError("Redirect status code must be one of 'HTTP_301, HTTP_302'")
    else:
        redirect(action.redirect)


def fixed_response(response: FixedResponseConfig) -> None:
    """AWS's content types; a body of at most 1024 characters, text but for NUL."""
    if response.content_type not in CONTENT_TYPES:
        raise ValidationError(
            f"Fixed response content type '{response.content_type}' must be one of "
            f"'{', '.join(CONTENT_TYPES)}'"
        )
    if len(response.message_body) > MAX_MESSAGE_BODY_LENGTH:
        raise ValidationError(
            f"Fixed response message body cannot be longer than {MAX_MESSAGE_BODY_LENGTH} "
            "characters"
        )
    if "\x00" in response.message_body:
        raise ValidationError("Fixed response message body cannot contain NUL characters")


def redirect(config: RedirectConfig) -> None:
    """Each part at most 128 characters, no control characters; the path starts with '/'."""
    parts = {
        "Protocol": config.protocol,
        "Host": config.host,
        "Port": config.port,
        "Path": config.path,
        "Query": config.query,
    }
    for name, value in parts.items():
        if len(value) > MAX_REDIRECT_PART_LENGTH:
            raise ValidationError(
                f"Redirect {name} cannot be longer than {MAX_REDIRECT_PART_LENGTH} characters"
            )
        if _control_characters(value):
            raise ValidationError(f"Redirect {name} cannot contain control characters")
    if config.protocol not in ("HTTP", "HTTPS", "#{protocol}"):
        raise ValidationError("Redirect protocol must be one of 'HTTP, HTTPS, #{protocol}'")
    if config.port != "#{port}" and not (config.port.isdigit() and 1 <= int(config.port) <= 65535):
        raise ValidationError("Redirect port must be '#{port}' or a number within 1-65535")
    if not config.path.startswith("/"):
        raise ValidationError("Redirect path must begin with a '/' character")


def forward(
    load_balancer: LoadBalancer, action: Action, target_groups: dict[str, TargetGroup]
) -> None:
    if not action.target_groups:
        raise ValidationError("A forward action must specify at least one target group")
    if load_balancer.type is LoadBalancerType.NETWORK and len(action.target_groups) > 1:
        raise ValidationError("A forward action of a network load balancer takes one target group")
    for entry in action.target_groups:
        target_group = target_groups.get(entry.target_group_arn)
        if target_group is None:
            raise AwsError("TargetGroupNotFound", "One or more target groups not found")
        constraint(entry.weight, "weight", 0, MAX_WEIGHT)
        is_alb = load_balancer.type is LoadBalancerType.APPLICATION
        if target_group.is_http != is_alb:
            raise AwsError(
                "IncompatibleProtocols",
                f"The target group '{target_group.target_group_arn}' has protocol "
                f"'{target_group.protocol}', which a load balancer of type "
                f"'{load_balancer.type}' cannot forward to",
            )


def rule(
    priority: int, conditions: tuple[RuleCondition, ...], priorities_in_use: Iterable[int]
) -> None:
    constraint(priority, "priority", 1, MAX_PRIORITY)
    if priority in set(priorities_in_use):
        raise AwsError("PriorityInUse", f"Priority '{priority}' is currently in use")
    if not conditions:
        raise ValidationError("At least one condition must be specified")
    for field in _SINGLE_CONDITIONS:
        if sum(1 for c in conditions if c.field is field) > 1:
            raise ValidationError(f"A rule can only have one '{field}' condition")
    for condition in conditions:
        if not condition.values:
            raise ValidationError(f"A '{condition.field}' condition must have at least one value")
        if condition.field is ConditionField.HTTP_HEADER:
            if not condition.http_header_name:
                raise ValidationError("An 'http-header' condition must specify 'HttpHeaderName'")
            header_name(condition.http_header_name)
        elif condition.http_header_name is not None:
            raise ValidationError(
                f"A '{condition.field}' condition cannot specify 'HttpHeaderName'"
            )
        for value in condition.values:
            condition_value(condition.field, value)


def ip_target(address: str) -> None:
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise ValidationError(f"The IP address '{address}' is not a valid IPv4 address") from None
