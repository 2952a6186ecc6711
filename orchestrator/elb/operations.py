"""ELBv2's actions on the desired state: validate like AWS, then write the store.

Nothing here touches HAProxy: the controller notices the new desired state on its next pass.
Arguments are the model's types with AWS's names; the HTTP API translates AWS's PascalCase
documents into them.

The describe actions answer one page (``PageSize``, 1-400, the most when not given) and a
``NextMarker`` for the rest (``orchestrator.paging``); a marker Barista did not give out is
refused with ELB's ``ValidationError``.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from orchestrator.elb import validation
from orchestrator.elb.model import (
    Action,
    HealthCheck,
    Listener,
    LoadBalancer,
    LoadBalancerType,
    Protocol,
    Rule,
    RuleCondition,
    Target,
    TargetGroup,
    TargetGroupAttributes,
    TargetType,
    arn,
)
from orchestrator.elb.state import ElbStore
from orchestrator.elb.topology import ElbTopology
from orchestrator.elb.validation import MAX_PRIORITY
from orchestrator.errors import AwsError, ValidationError
from orchestrator.paging import Key, Page, paginate

T = TypeVar("T")
MAX_PAGE_SIZE = 400


def invalid_marker() -> AwsError:
    return ValidationError("The marker is not valid; use the NextMarker of a previous call.")


@dataclass(frozen=True)
class DefaultRule:
    """A listener's default actions, which DescribeRules lists as its last rule (priority
    ``default``)."""

    listener: Listener


_NOT_FOUND = {
    "LoadBalancerNotFound": "Load balancers",
    "TargetGroupNotFound": "Target groups",
    "ListenerNotFound": "Listeners",
    "RuleNotFound": "Rules",
}


def _only(items: list[T], wanted: Sequence[str], key: Callable[[T], str], code: str) -> list[T]:
    """The items named in ``wanted`` (all when it is empty); naming a missing one is ``code``."""
    if not wanted:
        return items
    found = [item for item in items if key(item) in wanted]
    missing = sorted(set(wanted) - {key(item) for item in found})
    if missing:
        raise AwsError(code, f"{_NOT_FOUND[code]} '{missing}' not found")
    return found


def _page(
    listing: str,
    items: Sequence[T],
    key: Callable[[T], Key],
    page_size: int | None,
    marker: str | None,
) -> Page[T]:
    return paginate(listing, items, key, page_size or MAX_PAGE_SIZE, marker, invalid_marker)


def _rule_key(item: Rule | DefaultRule) -> Key:
    if isinstance(item, DefaultRule):  # after every numbered rule of its listener
        return [item.listener.listener_arn, MAX_PRIORITY + 1]
    return [item.listener_arn, item.priority]


def _suffix() -> str:
    return secrets.token_hex(8)


class Elbv2:
    """CreateLoadBalancer, CreateTargetGroup, CreateListener, CreateRule, RegisterTargets…"""

    def __init__(self, store: ElbStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    # Lookups with AWS's not-found errors.

    def load_balancer(self, load_balancer_arn: str) -> LoadBalancer:
        for item in self.store.load_balancers():
            if item.load_balancer_arn == load_balancer_arn:
                return item
        raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")

    def target_group(self, target_group_arn: str) -> TargetGroup:
        for item in self.store.target_groups():
            if item.target_group_arn == target_group_arn:
                return item
        raise AwsError("TargetGroupNotFound", "One or more target groups not found")

    def listener(self, listener_arn: str) -> Listener:
        for item in self.store.listeners():
            if item.listener_arn == listener_arn:
                return item
        raise AwsError("ListenerNotFound", "One or more listeners not found")

    def rule(self, rule_arn: str) -> Rule:
        for item in self.store.rules():
            if item.rule_arn == rule_arn:
                return item
        raise AwsError("RuleNotFound", "One or more rules not found")

    def _target_groups(self) -> dict[str, TargetGroup]:
        return {tg.target_group_arn: tg for tg in self.store.target_groups()}

    # Describes: one page each, in a fixed order.

    def describe_load_balancers(
        self,
        load_balancer_arns: Sequence[str],
        names: Sequence[str],
        page_size: int | None,
        marker: str | None,
    ) -> Page[LoadBalancer]:
        """By name."""
        items = _only(
            self.store.load_balancers(),
            load_balancer_arns,
            lambda i: i.load_balancer_arn,
            "LoadBalancerNotFound",
        )
        items = _only(items, names, lambda i: i.load_balancer_name, "LoadBalancerNotFound")
        return _page("load-balancers", items, lambda i: [i.load_balancer_name], page_size, marker)

    def describe_target_groups(
        self,
        load_balancer_arn: str | None,
        target_group_arns: Sequence[str],
        names: Sequence[str],
        page_size: int | None,
        marker: str | None,
    ) -> Page[TargetGroup]:
        """By name; ``load_balancer_arn``: only the groups its listeners or rules forward to."""
        topology = ElbTopology.read(self.store)
        items = list(topology.target_groups)
        if load_balancer_arn is not None:
            self.load_balancer(load_balancer_arn)
            items = [
                i
                for i in items
                if load_balancer_arn in topology.load_balancer_arns_of(i.target_group_arn)
            ]
        items = _only(items, target_group_arns, lambda i: i.target_group_arn, "TargetGroupNotFound")
        items = _only(items, names, lambda i: i.target_group_name, "TargetGroupNotFound")
        return _page("target-groups", items, lambda i: [i.target_group_name], page_size, marker)

    def describe_listeners(
        self,
        load_balancer_arn: str | None,
        listener_arns: Sequence[str],
        page_size: int | None,
        marker: str | None,
    ) -> Page[Listener]:
        """By port (one HAProxy serves every load balancer, so a port is one listener's)."""
        items = self.store.listeners()
        if load_balancer_arn is not None:
            self.load_balancer(load_balancer_arn)
            items = [i for i in items if i.load_balancer_arn == load_balancer_arn]
        items = _only(items, listener_arns, lambda i: i.listener_arn, "ListenerNotFound")
        return _page("listeners", items, lambda i: [i.port, i.listener_arn], page_size, marker)

    def describe_rules(
        self,
        listener_arn: str | None,
        rule_arns: Sequence[str],
        page_size: int | None,
        marker: str | None,
    ) -> Page[Rule | DefaultRule]:
        """A listener's rules by priority, its default rule last; or the rules named."""
        items: list[Rule | DefaultRule]
        if listener_arn is not None:
            listener = self.listener(listener_arn)
            items = [r for r in self.store.rules() if r.listener_arn == listener.listener_arn]
            items.append(DefaultRule(listener))
        elif rule_arns:
            named = _only(self.store.rules(), rule_arns, lambda i: i.rule_arn, "RuleNotFound")
            items = list(named)
        else:
            raise ValidationError("Either ListenerArn or RuleArns must be specified")
        return _page("rules", items, _rule_key, page_size, marker)

    # Load balancers.

    def create_load_balancer(
        self, name: str, type: LoadBalancerType = LoadBalancerType.APPLICATION
    ) -> LoadBalancer:
        """Like AWS, creating an identical load balancer again returns the existing one."""
        validation.resource_name("Load balancer", name)
        for existing in self.store.load_balancers():
            if existing.load_balancer_name == name:
                if existing.type is type:
                    return existing
                raise AwsError(
                    "DuplicateLoadBalancerName",
                    f"A load balancer with the same name '{name}' exists, but with different "
                    "settings",
                )
        kind = "app" if type is LoadBalancerType.APPLICATION else "net"
        created = LoadBalancer(
            arn("loadbalancer", f"{kind}/{name}", _suffix()), name, type, self.clock()
        )
        self.store.put_load_balancer(created)
        return created

    def delete_load_balancer(self, load_balancer_arn: str) -> None:
        self.load_balancer(load_balancer_arn)
        self.store.delete_load_balancer(load_balancer_arn)

    # Target groups.

    def create_target_group(
        self,
        name: str,
        protocol: Protocol,
        port: int,
        *,
        target_type: TargetType = TargetType.INSTANCE,
        health_check: HealthCheck | None = None,
    ) -> TargetGroup:
        """The health check defaults follow the protocol: HTTP on ``/`` matching 200 for
        HTTP(S) groups, a TCP connect for TCP and TLS groups (AWS's defaults)."""
        validation.resource_name("Target group", name)
        validation.constraint(port, "port", 1, 65535)
        if health_check is None:
            health_check = (
                HealthCheck()
                if protocol in (Protocol.HTTP, Protocol.HTTPS)
                else HealthCheck(protocol=Protocol.TCP, timeout_seconds=10, matcher=None)
            )
        validation.health_check(health_check, protocol)
        for existing in self.store.target_groups():
            if existing.target_group_name == name:
                raise AwsError(
                    "DuplicateTargetGroupName", "A target group with the same name exists"
                )
        created = TargetGroup(
            arn("targetgroup", name, _suffix()), name, protocol, port, target_type, health_check
        )
        self.store.put_target_group(created)
        return created

    def modify_target_group(self, target_group_arn: str, health_check: HealthCheck) -> TargetGroup:
        current = self.target_group(target_group_arn)
        validation.health_check(health_check, current.protocol)
        changed = dataclasses.replace(current, health_check=health_check)
        self.store.put_target_group(changed)
        return changed

    def modify_target_group_attributes(
        self, target_group_arn: str, updates: dict[str, str]
    ) -> TargetGroupAttributes:
        current = self.target_group(target_group_arn)
        attributes = dataclasses.replace(
            current.attributes,
            **validation.attribute_updates(updates),  # type: ignore[arg-type]
        )
        validation.attributes(attributes)
        self.store.put_target_group(dataclasses.replace(current, attributes=attributes))
        return attributes

    def delete_target_group(self, target_group_arn: str) -> None:
        self.target_group(target_group_arn)
        actions = [a for item in self.store.listeners() for a in item.default_actions]
        actions += [a for item in self.store.rules() for a in item.actions]
        if any(t.target_group_arn == target_group_arn for a in actions for t in a.target_groups):
            raise AwsError(
                "ResourceInUse",
                f"Target group '{target_group_arn}' is currently in use by a listener or a rule",
            )
        self.store.delete_target_group(target_group_arn)

    # Listeners and rules.

    def create_listener(
        self,
        load_balancer_arn: str,
        protocol: Protocol,
        port: int,
        default_actions: Iterable[Action],
    ) -> Listener:
        load_balancer = self.load_balancer(load_balancer_arn)
        actions = tuple(default_actions)
        # One HAProxy serves every load balancer, so a port is taken across all of them.
        ports = [item.port for item in self.store.listeners()]
        validation.listener(load_balancer, protocol, port, actions, self._target_groups(), ports)
        kind = "app" if load_balancer.type is LoadBalancerType.APPLICATION else "net"
        lb_id = load_balancer.load_balancer_arn.rsplit("/", 1)[1]
        created = Listener(
            arn("listener", f"{kind}/{load_balancer.load_balancer_name}/{lb_id}", _suffix()),
            load_balancer_arn,
            protocol,
            port,
            actions,
        )
        self.store.put_listener(created)
        return created

    def modify_listener(self, listener_arn: str, default_actions: Iterable[Action]) -> Listener:
        current = self.listener(listener_arn)
        actions = tuple(default_actions)
        validation.actions(
            self.load_balancer(current.load_balancer_arn), actions, self._target_groups()
        )
        changed = dataclasses.replace(current, default_actions=actions)
        self.store.put_listener(changed)
        return changed

    def delete_listener(self, listener_arn: str) -> None:
        self.listener(listener_arn)
        self.store.delete_listener(listener_arn)

    def create_rule(
        self,
        listener_arn: str,
        priority: int,
        conditions: Iterable[RuleCondition],
        actions: Iterable[Action],
    ) -> Rule:
        listener = self.listener(listener_arn)
        load_balancer = self.load_balancer(listener.load_balancer_arn)
        if load_balancer.type is not LoadBalancerType.APPLICATION:
            raise ValidationError(
                "Rules can only be created on listeners of application load balancers"
            )
        conditions = tuple(conditions)
        actions = tuple(actions)
        in_use = [r.priority for r in self.store.rules() if r.listener_arn == listener_arn]
        validation.rule(priority, conditions, in_use)
        validation.actions(load_balancer, actions, self._target_groups())
        listener_path = listener.listener_arn.split(":listener/", 1)[1]
        created = Rule(
            arn("listener-rule", listener_path, _suffix()),
            listener_arn,
            priority,
            conditions,
            actions,
        )
        self.store.put_rule(created)
        return created

    def delete_rule(self, rule_arn: str) -> None:
        self.rule(rule_arn)
        self.store.delete_rule(rule_arn)

    # Targets.

    def register_targets(
        self,
        target_group_arn: str,
        targets: Iterable[Target],
        known_instances: set[str] | None = None,
    ) -> list[Target]:
        """Registers with ports resolved (a target without one uses the group's port).

        ``known_instances`` are the instance ids that exist; None skips that check.
        """
        target_group = self.target_group(target_group_arn)
        resolved = [Target(t.id, t.port or target_group.port) for t in targets]
        for target in resolved:
            validation.constraint(target.port, "port", 1, 65535)
            if target_group.target_type is TargetType.IP:
                validation.ip_target(target.id)
        if target_group.target_type is TargetType.INSTANCE and known_instances is not None:
            unknown = [t.id for t in resolved if t.id not in known_instances]
            if unknown:
                raise AwsError(
                    "InvalidTarget",
                    "The following targets are not valid instances: "
                    + ", ".join(f"'{i}'" for i in unknown),
                )
        self.store.register_targets(target_group_arn, resolved)
        return resolved

    def deregister_targets(self, target_group_arn: str, targets: Iterable[Target]) -> None:
        """Starts draining; the controller removes each target after its delay or once idle."""
        target_group = self.target_group(target_group_arn)
        resolved = [Target(t.id, t.port or target_group.port) for t in targets]
        self.store.deregister_targets(target_group_arn, resolved, self.clock())

    def attach_target_groups(self, group_name: str, target_group_arns: Iterable[str]) -> None:
        """AttachLoadBalancerTargetGroups: the group's instances become targets."""
        arns = list(target_group_arns)
        for target_group_arn in arns:
            self.target_group(target_group_arn)
        self.store.attach_target_groups(group_name, arns)

    def detach_target_groups(self, group_name: str, target_group_arns: Iterable[str]) -> None:
        """Only the attachment: ``ElbController.detach_target_groups`` also drains the group's
        running instances first, as AWS does."""
        self.store.detach_target_groups(group_name, list(target_group_arns))
