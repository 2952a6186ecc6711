"""One consistent snapshot of the load balancer resources, with the lookups rendering needs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from orchestrator.elb.model import Listener, LoadBalancer, Rule, TargetGroup
from orchestrator.elb.state import ElbStore


@dataclass(frozen=True)
class ElbTopology:
    load_balancers: tuple[LoadBalancer, ...] = ()
    listeners: tuple[Listener, ...] = ()
    rules: tuple[Rule, ...] = ()
    target_groups: tuple[TargetGroup, ...] = ()

    @classmethod
    def read(cls, store: ElbStore) -> ElbTopology:
        return cls(
            tuple(store.load_balancers()),
            tuple(sorted(store.listeners(), key=lambda item: item.port)),
            tuple(store.rules()),
            tuple(store.target_groups()),
        )

    @cached_property
    def target_groups_by_arn(self) -> dict[str, TargetGroup]:
        return {tg.target_group_arn: tg for tg in self.target_groups}

    def load_balancer(self, load_balancer_arn: str) -> LoadBalancer:
        return next(lb for lb in self.load_balancers if lb.load_balancer_arn == load_balancer_arn)

    def listener(self, listener_arn: str) -> Listener:
        return next(item for item in self.listeners if item.listener_arn == listener_arn)

    def rules_of(self, listener_arn: str) -> list[Rule]:
        """A listener's rules in evaluation order: lowest priority number first."""
        return sorted(
            (rule for rule in self.rules if rule.listener_arn == listener_arn),
            key=lambda rule: rule.priority,
        )

    def target_groups_in_use(self) -> set[str]:
        """ARNs of target groups some listener or rule forwards to (the rest are unused)."""
        actions = [a for item in self.listeners for a in item.default_actions]
        actions += [a for rule in self.rules for a in rule.actions]
        return {t.target_group_arn for a in actions for t in a.target_groups}

    def load_balancer_arns_of(self, target_group_arn: str) -> list[str]:
        """The load balancers whose listeners or rules forward to the target group."""
        arns: set[str] = set()
        for item in self.listeners:
            actions = list(item.default_actions)
            actions += [
                a for r in self.rules if r.listener_arn == item.listener_arn for a in r.actions
            ]
            if any(
                t.target_group_arn == target_group_arn for a in actions for t in a.target_groups
            ):
                arns.add(item.load_balancer_arn)
        return sorted(arns)
