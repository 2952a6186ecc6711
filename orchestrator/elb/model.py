"""Elastic Load Balancing v2 as data: load balancers, listeners, rules, target groups, health.

Names, units and defaults are AWS's (docs/aws-defaults.md): durations are AWS seconds, never
compressed here; only the code that hands a duration to HAProxy or waits on it applies a
``TimeScale``. Values are frozen dataclasses so a desired state read from the store cannot be
changed behind the reconciler's back; ``dataclasses.replace`` makes the next version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.arns import arn as _arn


class LoadBalancerType(StrEnum):
    APPLICATION = "application"
    NETWORK = "network"


class Protocol(StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TCP = "TCP"
    TLS = "TLS"


# Which listener protocols each kind of load balancer speaks (AWS: ALB HTTP/HTTPS; NLB TCP/TLS,
# UDP is not offered here because HAProxy does not proxy UDP).
LISTENER_PROTOCOLS: dict[LoadBalancerType, tuple[Protocol, ...]] = {
    LoadBalancerType.APPLICATION: (Protocol.HTTP, Protocol.HTTPS),
    LoadBalancerType.NETWORK: (Protocol.TCP, Protocol.TLS),
}
# Protocols that carry HTTP, so rules, cookies and HTTP health checks apply.
HTTP_PROTOCOLS = (Protocol.HTTP, Protocol.HTTPS)


class TargetType(StrEnum):
    INSTANCE = "instance"  # Id is an instance id; its address comes from the runtime
    IP = "ip"  # Id is an IPv4 address


class LoadBalancingAlgorithm(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_OUTSTANDING_REQUESTS = "least_outstanding_requests"
    WEIGHTED_RANDOM = "weighted_random"


class TargetHealthState(StrEnum):
    INITIAL = "initial"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNUSED = "unused"
    DRAINING = "draining"
    UNAVAILABLE = "unavailable"


class TargetHealthReason(StrEnum):
    """AWS's ``TargetHealth.Reason`` codes for every state but healthy."""

    REGISTRATION_IN_PROGRESS = "Elb.RegistrationInProgress"
    INITIAL_HEALTH_CHECKING = "Elb.InitialHealthChecking"
    RESPONSE_CODE_MISMATCH = "Target.ResponseCodeMismatch"
    TIMEOUT = "Target.Timeout"
    FAILED_HEALTH_CHECKS = "Target.FailedHealthChecks"
    NOT_REGISTERED = "Target.NotRegistered"
    NOT_IN_USE = "Target.NotInUse"
    DEREGISTRATION_IN_PROGRESS = "Target.DeregistrationInProgress"
    HEALTH_CHECK_DISABLED = "Target.HealthCheckDisabled"


class ActionType(StrEnum):
    FORWARD = "forward"
    FIXED_RESPONSE = "fixed-response"
    REDIRECT = "redirect"


class ConditionField(StrEnum):
    PATH_PATTERN = "path-pattern"
    HOST_HEADER = "host-header"
    HTTP_HEADER = "http-header"
    HTTP_REQUEST_METHOD = "http-request-method"


def arn(resource: str, name: str, suffix: str) -> str:
    """An ARN shaped like AWS's: ``…:targetgroup/orders/0123456789abcdef``."""
    return _arn("elasticloadbalancing", f"{resource}/{name}/{suffix}")


@dataclass(frozen=True)
class LoadBalancer:
    load_balancer_arn: str
    load_balancer_name: str
    type: LoadBalancerType
    created_time: float
    scheme: str = "internet-facing"

    @property
    def dns_name(self) -> str:
        # AWS answers on <name>-<id>.<region>.elb.amazonaws.com; Barista's data plane is local.
        return f"{self.load_balancer_name}.elb.localhost"


@dataclass(frozen=True)
class HealthCheck:
    """A target group's health check, in AWS units (seconds, counts, a status matcher).

    ``port`` is ``"traffic-port"`` (the target's own port) or a port number as a string, as
    AWS spells it. ``matcher`` is the HttpCode matcher (``"200"``, ``"200,202"``,
    ``"200-299"``); None for TCP checks.
    """

    protocol: Protocol = Protocol.HTTP
    port: str = "traffic-port"
    path: str = "/"
    interval_seconds: int = 30
    timeout_seconds: int = 5
    healthy_threshold_count: int = 5
    unhealthy_threshold_count: int = 2
    matcher: str | None = "200"
    enabled: bool = True


@dataclass(frozen=True)
class TargetGroupAttributes:
    """The target group attributes Barista honours, named after AWS's attribute keys."""

    deregistration_delay_timeout_seconds: int = 300
    slow_start_duration_seconds: int = 0
    load_balancing_algorithm_type: LoadBalancingAlgorithm = LoadBalancingAlgorithm.ROUND_ROBIN
    stickiness_enabled: bool = False
    stickiness_type: str = "lb_cookie"
    stickiness_lb_cookie_duration_seconds: int = 86400


# AWS attribute key -> field of TargetGroupAttributes.
ATTRIBUTE_KEYS: dict[str, str] = {
    "deregistration_delay.timeout_seconds": "deregistration_delay_timeout_seconds",
    "slow_start.duration_seconds": "slow_start_duration_seconds",
    "load_balancing.algorithm.type": "load_balancing_algorithm_type",
    "stickiness.enabled": "stickiness_enabled",
    "stickiness.type": "stickiness_type",
    "stickiness.lb_cookie.duration_seconds": "stickiness_lb_cookie_duration_seconds",
}


@dataclass(frozen=True)
class TargetGroup:
    target_group_arn: str
    target_group_name: str
    protocol: Protocol
    port: int
    target_type: TargetType = TargetType.INSTANCE
    health_check: HealthCheck = field(default_factory=HealthCheck)
    attributes: TargetGroupAttributes = field(default_factory=TargetGroupAttributes)

    @property
    def is_http(self) -> bool:
        return self.protocol in HTTP_PROTOCOLS


@dataclass(frozen=True)
class Target:
    """A registered target: an instance id or IP address, and the port (None = the group's)."""

    id: str
    port: int | None = None


@dataclass(frozen=True)
class TargetGroupTuple:
    target_group_arn: str
    weight: int = 1


@dataclass(frozen=True)
class FixedResponseConfig:
    status_code: str
    content_type: str = "text/plain"
    message_body: str = ""


@dataclass(frozen=True)
class RedirectConfig:
    """AWS's redirect: each part defaults to the request's own (``#{host}``, ``#{path}``…)."""

    status_code: str  # HTTP_301 | HTTP_302
    protocol: str = "#{protocol}"
    host: str = "#{host}"
    port: str = "#{port}"
    path: str = "/#{path}"
    query: str = "#{query}"


@dataclass(frozen=True)
class Action:
    """One action; exactly the config of its ``type`` is set."""

    type: ActionType
    target_groups: tuple[TargetGroupTuple, ...] = ()
    fixed_response: FixedResponseConfig | None = None
    redirect: RedirectConfig | None = None

    @classmethod
    def forward(cls, *target_group_arns: str) -> Action:
        return cls(ActionType.FORWARD, tuple(TargetGroupTuple(a) for a in target_group_arns))


@dataclass(frozen=True)
class RuleCondition:
    """A condition; values match if any matches, and a rule's conditions must all match.

    ``http_header_name`` is set for ``http-header`` only.
    """

    field: ConditionField
    values: tuple[str, ...]
    http_header_name: str | None = None


@dataclass(frozen=True)
class Listener:
    listener_arn: str
    load_balancer_arn: str
    protocol: Protocol
    port: int
    default_actions: tuple[Action, ...]


@dataclass(frozen=True)
class Rule:
    rule_arn: str
    listener_arn: str
    priority: int
    conditions: tuple[RuleCondition, ...]
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class TargetHealth:
    state: TargetHealthState
    reason: TargetHealthReason | None = None
    description: str | None = None


@dataclass(frozen=True)
class TargetHealthDescription:
    target: Target
    health_check_port: str
    target_health: TargetHealth
