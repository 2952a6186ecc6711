"""Elastic Load Balancing v2's actions: ``POST /api/elbv2/{Action}``, AWS's shapes.

Requests are AWS's PascalCase documents (``CreateTargetGroup`` with ``HealthCheckPath``,
``Matcher.HttpCode``…; actions with ``ForwardConfig``, conditions with ``PathPatternConfig``
or the older ``Values``), validated by ``orchestrator.elb.operations`` with ELBv2's error codes.
The describe actions page with ``PageSize`` and ``Marker``/``NextMarker`` as ELB does
(``Elbv2.describe_*``). Only ``DescribeTargetHealth`` talks to HAProxy (through the runtime API
named by ``BARISTA_HAPROXY_RUNTIME_API``), and answers ``ServiceUnavailable`` (503) when HAProxy
does not; every other action reads or writes the store, and the ELB controller carries changes
to HAProxy on its next pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import Field

from orchestrator.api import Action as Handler
from orchestrator.api import ApiContext, Params
from orchestrator.api._requests import Request, iso, parse
from orchestrator.asg.launch_holds import LaunchHolds
from orchestrator.elb.haproxy_runtime import HaproxyCommandError
from orchestrator.elb.model import (
    ATTRIBUTE_KEYS,
    Action,
    ActionType,
    ConditionField,
    FixedResponseConfig,
    HealthCheck,
    Listener,
    LoadBalancer,
    LoadBalancerType,
    Protocol,
    RedirectConfig,
    Rule,
    RuleCondition,
    Target,
    TargetGroup,
    TargetGroupTuple,
    TargetHealthDescription,
    TargetType,
)
from orchestrator.elb.operations import MAX_PAGE_SIZE, DefaultRule, Elbv2
from orchestrator.elb.settings import ElbSettings
from orchestrator.elb.state import ElbStore
from orchestrator.elb.topology import ElbTopology
from orchestrator.errors import ServiceUnavailable, ValidationError
from orchestrator.paging import Page

SERVICE = "elbv2"
T = TypeVar("T")


# Request bodies.


class TargetGroupTupleRequest(Request):
    target_group_arn: str
    weight: int | None = None


class ForwardConfigRequest(Request):
    target_groups: list[TargetGroupTupleRequest] = Field(min_length=1)
    target_group_stickiness_config: dict[str, Any] | None = None


class FixedResponseConfigRequest(Request):
    status_code: str
    content_type: str | None = None
    message_body: str | None = None


class RedirectConfigRequest(Request):
    status_code: str
    protocol: str | None = None
    host: str | None = None
    port: str | None = None
    path: str | None = None
    query: str | None = None


class ActionRequest(Request):
    type: str
    target_group_arn: str | None = None
    forward_config: ForwardConfigRequest | None = None
    fixed_response_config: FixedResponseConfigRequest | None = None
    redirect_config: RedirectConfigRequest | None = None
    order: int | None = None


class ValuesConfig(Request):
    values: list[str]


class HttpHeaderConfig(Request):
    http_header_name: str
    values: list[str]


class ConditionRequest(Request):
    field: str
    values: list[str] | None = None
    path_pattern_config: ValuesConfig | None = None
    host_header_config: ValuesConfig | None = None
    http_request_method_config: ValuesConfig | None = None
    http_header_config: HttpHeaderConfig | None = None


class MatcherRequest(Request):
    http_code: str | None = None
    grpc_code: str | None = None


class HealthCheckFields(Request):
    health_check_protocol: str | None = None
    health_check_port: str | None = None
    health_check_path: str | None = None
    health_check_enabled: bool | None = None
    health_check_interval_seconds: int | None = None
    health_check_timeout_seconds: int | None = None
    healthy_threshold_count: int | None = None
    unhealthy_threshold_count: int | None = None
    matcher: MatcherRequest | None = None


class CreateLoadBalancer(Request):
    name: str
    type: str = "application"
    scheme: str | None = None
    subnets: list[str] | None = None
    security_groups: list[str] | None = None
    ip_address_type: str | None = None
    tags: list[dict[str, str]] | None = None


class Paged(Request):
    """A describe's page: ``PageSize`` 1-400 (ELB's model), ``Marker`` from ``NextMarker``."""

    page_size: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    marker: str | None = None


class DescribeLoadBalancers(Paged):
    load_balancer_arns: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)


class LoadBalancerArn(Request):
    load_balancer_arn: str


class CreateTargetGroup(HealthCheckFields):
    name: str
    protocol: str = "HTTP"
    port: int
    target_type: str = "instance"
    vpc_id: str | None = None
    tags: list[dict[str, str]] | None = None


class ModifyTargetGroup(HealthCheckFields):
    target_group_arn: str


class DescribeTargetGroups(Paged):
    load_balancer_arn: str | None = None
    target_group_arns: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)


class TargetGroupArn(Request):
    target_group_arn: str


class AttributeRequest(Request):
    key: str
    value: str


class ModifyTargetGroupAttributes(Request):
    target_group_arn: str
    attributes: list[AttributeRequest]


class CreateListener(Request):
    load_balancer_arn: str
    protocol: str
    port: int
    default_actions: list[ActionRequest]
    certificates: list[dict[str, str]] | None = None
    ssl_policy: str | None = None


class ModifyListener(Request):
    listener_arn: str
    default_actions: list[ActionRequest]


class DescribeListeners(Paged):
    load_balancer_arn: str | None = None
    listener_arns: list[str] = Field(default_factory=list)


class ListenerArn(Request):
    listener_arn: str


class CreateRule(Request):
    listener_arn: str
    priority: int
    conditions: list[ConditionRequest]
    actions: list[ActionRequest]


class DescribeRules(Paged):
    listener_arn: str | None = None
    rule_arns: list[str] = Field(default_factory=list)


class RuleArn(Request):
    rule_arn: str


class TargetRequest(Request):
    id: str
    port: int | None = None
    availability_zone: str | None = None


class Targets(Request):
    target_group_arn: str
    targets: list[TargetRequest] = Field(min_length=1)


class DescribeTargetHealth(Request):
    target_group_arn: str
    targets: list[TargetRequest] | None = None


# Requests to the model.


def _enum(kind: Callable[[str], T], value: str, member: str, allowed: str) -> T:
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(
            f"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy "
            f"enum value set: [{allowed}]"
        ) from None


def _action(request: ActionRequest) -> Action:
    kind = _enum(ActionType, request.type, "type", "forward, fixed-response, redirect")
    if kind is ActionType.FORWARD:
        if request.forward_config is not None:
            groups = tuple(
                TargetGroupTuple(t.target_group_arn, 1 if t.weight is None else t.weight)
                for t in request.forward_config.target_groups
            )
        elif request.target_group_arn is not None:
            groups = (TargetGroupTuple(request.target_group_arn),)
        else:
            raise ValidationError("A forward action must specify TargetGroupArn or ForwardConfig")
        return Action(kind, groups)
    if kind is ActionType.FIXED_RESPONSE:
        fixed = request.fixed_response_config
        if fixed is None:
            raise ValidationError("A fixed-response action must specify FixedResponseConfig")
        return Action(
            kind,
            fixed_response=FixedResponseConfig(
                fixed.status_code, fixed.content_type or "text/plain", fixed.message_body or ""
            ),
        )
    redirect = request.redirect_config
    if redirect is None:
        raise ValidationError("A redirect action must specify RedirectConfig")
    defaults = RedirectConfig(redirect.status_code)
    return Action(
        kind,
        redirect=RedirectConfig(
            redirect.status_code,
            protocol=redirect.protocol or defaults.protocol,
            host=redirect.host or defaults.host,
            port=redirect.port or defaults.port,
            path=redirect.path or defaults.path,
            query=defaults.query if redirect.query is None else redirect.query,
        ),
    )


def _condition(request: ConditionRequest) -> RuleCondition:
    field = _enum(
        ConditionField,
        request.field,
        "field",
        "path-pattern, host-header, http-header, http-request-method",
    )
    if field is ConditionField.HTTP_HEADER:
        if request.http_header_config is None:
            raise ValidationError("An 'http-header' condition must specify HttpHeaderConfig")
        header = request.http_header_config
        return RuleCondition(field, tuple(header.values), header.http_header_name)
    config = {
        ConditionField.PATH_PATTERN: request.path_pattern_config,
        ConditionField.HOST_HEADER: request.host_header_config,
        ConditionField.HTTP_REQUEST_METHOD: request.http_request_method_config,
    }[field]
    values = config.values if config is not None else request.values or []
    return RuleCondition(field, tuple(values))


def _health_check(request: HealthCheckFields, base: HealthCheck) -> HealthCheck:
    matcher = base.matcher
    if request.matcher is not None and request.matcher.http_code is not None:
        matcher = request.matcher.http_code
    protocol = base.protocol
    if request.health_check_protocol is not None:
        protocol = _enum(
            Protocol, request.health_check_protocol, "healthCheckProtocol", "HTTP, HTTPS, TCP"
        )
    return HealthCheck(
        protocol=protocol,
        port=request.health_check_port or base.port,
        path=request.health_check_path or base.path,
        interval_seconds=_or(request.health_check_interval_seconds, base.interval_seconds),
        timeout_seconds=_or(request.health_check_timeout_seconds, base.timeout_seconds),
        healthy_threshold_count=_or(request.healthy_threshold_count, base.healthy_threshold_count),
        unhealthy_threshold_count=_or(
            request.unhealthy_threshold_count, base.unhealthy_threshold_count
        ),
        matcher=matcher if protocol in (Protocol.HTTP, Protocol.HTTPS) else None,
        enabled=_or(request.health_check_enabled, base.enabled),
    )


def _or(value: T | None, default: T) -> T:
    return default if value is None else value


# Model to responses.


def _load_balancer_doc(item: LoadBalancer) -> dict[str, Any]:
    return {
        "LoadBalancerArn": item.load_balancer_arn,
        "LoadBalancerName": item.load_balancer_name,
        "DNSName": item.dns_name,
        "CreatedTime": iso(item.created_time),
        "Scheme": item.scheme,
        "Type": str(item.type),
        "State": {"Code": "active"},
        "IpAddressType": "ipv4",
    }


def _target_group_doc(item: TargetGroup, topology: ElbTopology) -> dict[str, Any]:
    check = item.health_check
    document: dict[str, Any] = {
        "TargetGroupArn": item.target_group_arn,
        "TargetGroupName": item.target_group_name,
        "Protocol": str(item.protocol),
        "Port": item.port,
        "TargetType": str(item.target_type),
        "HealthCheckEnabled": check.enabled,
        "HealthCheckProtocol": str(check.protocol),
        "HealthCheckPort": check.port,
        "HealthCheckIntervalSeconds": check.interval_seconds,
        "HealthCheckTimeoutSeconds": check.timeout_seconds,
        "HealthyThresholdCount": check.healthy_threshold_count,
        "UnhealthyThresholdCount": check.unhealthy_threshold_count,
        "LoadBalancerArns": topology.load_balancer_arns_of(item.target_group_arn),
    }
    if check.protocol in (Protocol.HTTP, Protocol.HTTPS):
        document["HealthCheckPath"] = check.path
        document["Matcher"] = {"HttpCode": check.matcher or "200"}
    return document


def _action_doc(action: Action, order: int) -> dict[str, Any]:
    document: dict[str, Any] = {"Type": str(action.type), "Order": order}
    if action.type is ActionType.FORWARD:
        if len(action.target_groups) == 1:
            document["TargetGroupArn"] = action.target_groups[0].target_group_arn
        document["ForwardConfig"] = {
            "TargetGroups": [
                {"TargetGroupArn": t.target_group_arn, "Weight": t.weight}
                for t in action.target_groups
            ]
        }
    elif action.fixed_response is not None:
        document["FixedResponseConfig"] = {
            "StatusCode": action.fixed_response.status_code,
            "ContentType": action.fixed_response.content_type,
            "MessageBody": action.fixed_response.message_body,
        }
    elif action.redirect is not None:
        redirect = action.redirect
        document["RedirectConfig"] = {
            "Protocol": redirect.protocol,
            "Port": redirect.port,
            "Host": redirect.host,
            "Path": redirect.path,
            "Query": redirect.query,
            "StatusCode": redirect.status_code,
        }
    return document


def _listener_doc(item: Listener) -> dict[str, Any]:
    return {
        "ListenerArn": item.listener_arn,
        "LoadBalancerArn": item.load_balancer_arn,
        "Port": item.port,
        "Protocol": str(item.protocol),
        "DefaultActions": [_action_doc(a, i) for i, a in enumerate(item.default_actions, 1)],
    }


_CONDITION_CONFIG = {
    ConditionField.PATH_PATTERN: "PathPatternConfig",
    ConditionField.HOST_HEADER: "HostHeaderConfig",
    ConditionField.HTTP_REQUEST_METHOD: "HttpRequestMethodConfig",
}


def _condition_doc(condition: RuleCondition) -> dict[str, Any]:
    if condition.field is ConditionField.HTTP_HEADER:
        return {
            "Field": str(condition.field),
            "HttpHeaderConfig": {
                "HttpHeaderName": condition.http_header_name,
                "Values": list(condition.values),
            },
        }
    return {
        "Field": str(condition.field),
        "Values": list(condition.values),
        _CONDITION_CONFIG[condition.field]: {"Values": list(condition.values)},
    }


def _rule_doc(item: Rule) -> dict[str, Any]:
    return {
        "RuleArn": item.rule_arn,
        "Priority": str(item.priority),
        "Conditions": [_condition_doc(c) for c in item.conditions],
        "Actions": [_action_doc(a, i) for i, a in enumerate(item.actions, 1)],
        "IsDefault": False,
    }


def _default_rule_doc(item: Listener) -> dict[str, Any]:
    # AWS lists a listener's default action as a rule with priority "default".
    return {
        "RuleArn": item.listener_arn.replace(":listener/", ":listener-rule/") + "/default",
        "Priority": "default",
        "Conditions": [],
        "Actions": [_action_doc(a, i) for i, a in enumerate(item.default_actions, 1)],
        "IsDefault": True,
    }


def _health_doc(item: TargetHealthDescription, zone: str | None = None) -> dict[str, Any]:
    """``zone``: the instance target's Availability Zone, which AWS names in the Target."""
    health: dict[str, Any] = {"State": str(item.target_health.state)}
    if item.target_health.reason is not None:
        health["Reason"] = str(item.target_health.reason)
        health["Description"] = item.target_health.description
    target: dict[str, Any] = {"Id": item.target.id, "Port": item.target.port}
    if zone:
        target["AvailabilityZone"] = zone
    return {
        "Target": target,
        "HealthCheckPort": item.health_check_port,
        "TargetHealth": health,
    }


def _attributes_doc(target_group: TargetGroup) -> list[dict[str, str]]:
    values = target_group.attributes
    documents = []
    for key, field in ATTRIBUTE_KEYS.items():
        value = getattr(values, field)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        documents.append({"Key": key, "Value": text})
    return documents


def _paged(member: str, documents: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
    """A describe's answer: ``member``, and ``NextMarker`` unless it was the last page."""
    answer: dict[str, Any] = {member: documents}
    if page.next_token is not None:
        answer["NextMarker"] = page.next_token
    return answer


def actions(context: ApiContext) -> dict[str, Handler]:  # noqa: PLR0915 - one closure per action
    """ELBv2's actions over the store (and HAProxy for target health)."""
    runtime = context.runtime
    settings = ElbSettings.from_environ(context.environ)

    def create_load_balancer(params: Params) -> Mapping[str, Any]:
        request = parse(CreateLoadBalancer, params)
        kind = _enum(LoadBalancerType, request.type, "type", "application, network")
        with ElbStore(context.store_path) as store:
            created = Elbv2(store, runtime.now).create_load_balancer(request.name, kind)
        return {"LoadBalancers": [_load_balancer_doc(created)]}

    def describe_load_balancers(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeLoadBalancers, params)
        with ElbStore(context.store_path) as store:
            page = Elbv2(store).describe_load_balancers(
                request.load_balancer_arns, request.names, request.page_size, request.marker
            )
        return _paged("LoadBalancers", [_load_balancer_doc(i) for i in page.items], page)

    def delete_load_balancer(params: Params) -> Mapping[str, Any]:
        request = parse(LoadBalancerArn, params)
        with ElbStore(context.store_path) as store:
            Elbv2(store).delete_load_balancer(request.load_balancer_arn)
        return {}

    def create_target_group(params: Params) -> Mapping[str, Any]:
        request = parse(CreateTargetGroup, params)
        protocol = _enum(Protocol, request.protocol, "protocol", "HTTP, HTTPS, TCP, TLS")
        target_type = _enum(TargetType, request.target_type, "targetType", "instance, ip")
        base = (
            HealthCheck()
            if protocol in (Protocol.HTTP, Protocol.HTTPS)
            else HealthCheck(protocol=Protocol.TCP, timeout_seconds=10, matcher=None)
        )
        with ElbStore(context.store_path) as store:
            created = Elbv2(store).create_target_group(
                request.name,
                protocol,
                request.port,
                target_type=target_type,
                health_check=_health_check(request, base),
            )
            topology = ElbTopology.read(store)
        return {"TargetGroups": [_target_group_doc(created, topology)]}

    def modify_target_group(params: Params) -> Mapping[str, Any]:
        request = parse(ModifyTargetGroup, params)
        with ElbStore(context.store_path) as store:
            elbv2 = Elbv2(store)
            current = elbv2.target_group(request.target_group_arn)
            changed = elbv2.modify_target_group(
                request.target_group_arn, _health_check(request, current.health_check)
            )
            topology = ElbTopology.read(store)
        return {"TargetGroups": [_target_group_doc(changed, topology)]}

    def describe_target_groups(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeTargetGroups, params)
        with ElbStore(context.store_path) as store:
            page = Elbv2(store).describe_target_groups(
                request.load_balancer_arn,
                request.target_group_arns,
                request.names,
                request.page_size,
                request.marker,
            )
            topology = ElbTopology.read(store)
        return _paged("TargetGroups", [_target_group_doc(i, topology) for i in page.items], page)

    def delete_target_group(params: Params) -> Mapping[str, Any]:
        request = parse(TargetGroupArn, params)
        with ElbStore(context.store_path) as store:
            Elbv2(store).delete_target_group(request.target_group_arn)
        return {}

    def modify_target_group_attributes(params: Params) -> Mapping[str, Any]:
        request = parse(ModifyTargetGroupAttributes, params)
        updates = {a.key: a.value for a in request.attributes}
        with ElbStore(context.store_path) as store:
            elbv2 = Elbv2(store)
            elbv2.modify_target_group_attributes(request.target_group_arn, updates)
            changed = elbv2.target_group(request.target_group_arn)
        return {"Attributes": _attributes_doc(changed)}

    def describe_target_group_attributes(params: Params) -> Mapping[str, Any]:
        request = parse(TargetGroupArn, params)
        with ElbStore(context.store_path) as store:
            target_group = Elbv2(store).target_group(request.target_group_arn)
        return {"Attributes": _attributes_doc(target_group)}

    def create_listener(params: Params) -> Mapping[str, Any]:
        request = parse(CreateListener, params)
        protocol = _enum(Protocol, request.protocol, "protocol", "HTTP, HTTPS, TCP, TLS")
        with ElbStore(context.store_path) as store:
            created = Elbv2(store).create_listener(
                request.load_balancer_arn,
                protocol,
                request.port,
                [_action(a) for a in request.default_actions],
            )
        return {"Listeners": [_listener_doc(created)]}

    def modify_listener(params: Params) -> Mapping[str, Any]:
        request = parse(ModifyListener, params)
        with ElbStore(context.store_path) as store:
            changed = Elbv2(store).modify_listener(
                request.listener_arn, [_action(a) for a in request.default_actions]
            )
        return {"Listeners": [_listener_doc(changed)]}

    def describe_listeners(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeListeners, params)
        with ElbStore(context.store_path) as store:
            page = Elbv2(store).describe_listeners(
                request.load_balancer_arn, request.listener_arns, request.page_size, request.marker
            )
        return _paged("Listeners", [_listener_doc(i) for i in page.items], page)

    def delete_listener(params: Params) -> Mapping[str, Any]:
        request = parse(ListenerArn, params)
        with ElbStore(context.store_path) as store:
            Elbv2(store).delete_listener(request.listener_arn)
        return {}

    def create_rule(params: Params) -> Mapping[str, Any]:
        request = parse(CreateRule, params)
        with ElbStore(context.store_path) as store:
            created = Elbv2(store).create_rule(
                request.listener_arn,
                request.priority,
                [_condition(c) for c in request.conditions],
                [_action(a) for a in request.actions],
            )
        return {"Rules": [_rule_doc(created)]}

    def describe_rules(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeRules, params)
        with ElbStore(context.store_path) as store:
            page = Elbv2(store).describe_rules(
                request.listener_arn, request.rule_arns, request.page_size, request.marker
            )
        documents = [
            _default_rule_doc(i.listener) if isinstance(i, DefaultRule) else _rule_doc(i)
            for i in page.items
        ]
        return _paged("Rules", documents, page)

    def delete_rule(params: Params) -> Mapping[str, Any]:
        request = parse(RuleArn, params)
        with ElbStore(context.store_path) as store:
            Elbv2(store).delete_rule(request.rule_arn)
        return {}

    def register_targets(params: Params) -> Mapping[str, Any]:
        request = parse(Targets, params)
        known = {i.instance_id for i in runtime.instances()}
        with ElbStore(context.store_path) as store:
            Elbv2(store).register_targets(
                request.target_group_arn, [Target(t.id, t.port) for t in request.targets], known
            )
        return {}

    def deregister_targets(params: Params) -> Mapping[str, Any]:
        request = parse(Targets, params)
        with ElbStore(context.store_path) as store:
            Elbv2(store, runtime.now).deregister_targets(
                request.target_group_arn, [Target(t.id, t.port) for t in request.targets]
            )
        return {}

    def describe_target_health(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeTargetHealth, params)
        with ElbStore(context.store_path) as store:
            Elbv2(store).target_group(request.target_group_arn)
        controller = settings.controller(
            context.store_path, runtime, LaunchHolds(context.store_path)
        )
        asked = None if not request.targets else [Target(t.id, t.port) for t in request.targets]
        try:
            descriptions = controller.describe_target_health(request.target_group_arn, asked)
        except (OSError, HaproxyCommandError) as error:
            # Barista's side is down, not the request wrong: 503, which the SDKs retry.
            raise ServiceUnavailable(f"HAProxy's runtime API does not answer: {error}") from None
        finally:
            controller.close()
        zones = {i.instance_id: i.availability_zone for i in runtime.instances()}
        return {
            "TargetHealthDescriptions": [
                _health_doc(d, zones.get(d.target.id)) for d in descriptions
            ]
        }

    return {
        "CreateLoadBalancer": create_load_balancer,
        "DescribeLoadBalancers": describe_load_balancers,
        "DeleteLoadBalancer": delete_load_balancer,
        "CreateTargetGroup": create_target_group,
        "ModifyTargetGroup": modify_target_group,
        "DescribeTargetGroups": describe_target_groups,
        "DeleteTargetGroup": delete_target_group,
        "ModifyTargetGroupAttributes": modify_target_group_attributes,
        "DescribeTargetGroupAttributes": describe_target_group_attributes,
        "CreateListener": create_listener,
        "ModifyListener": modify_listener,
        "DescribeListeners": describe_listeners,
        "DeleteListener": delete_listener,
        "CreateRule": create_rule,
        "DescribeRules": describe_rules,
        "DeleteRule": delete_rule,
        "RegisterTargets": register_targets,
        "DeregisterTargets": deregister_targets,
        "DescribeTargetHealth": describe_target_health,
    }
