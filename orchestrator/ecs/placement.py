"""Task placement on EC2-style capacity: constraints bind, strategies rank (pure).

As ECS does it: container instances without the task's CPU and memory free, or that break a
placement constraint (``distinctInstance``: no other task of the same group on it;
``memberOf``: a cluster query language expression on attributes), are out. The strategies
then pick among the rest, in order, each narrowing the field to its best candidates:
``binpack`` (field ``cpu`` or ``memory``) the least of that resource left after placing,
``spread`` (``instanceId``/``host`` or ``attribute:NAME``, e.g. the service default
``attribute:ecs.availability-zone``) the value with fewest tasks of the group, ``random`` any.
Ties left after every strategy go to the lowest instance id, so a plan is reproducible.

When nothing fits, ``Placement.reason`` is what ECS says in the service event, naming the
closest matching instance and what it lacks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.ecs.model import ContainerInstance, PlacementConstraint, PlacementStrategy


@dataclass(frozen=True)
class Load:
    """What already runs on one container instance."""

    cpu: int = 0
    memory: int = 0
    groups: tuple[str, ...] = ()  # the task group of each task placed on it


@dataclass(frozen=True)
class Placement:
    instance: ContainerInstance | None
    reason: str = ""


_MEMBER_OF = re.compile(
    r"^\s*attribute:(?P<name>[\w.-]+)\s*(?P<op>==|!=|in|not_in)\s*(?P<value>.+?)\s*$"
)


def member_of(instance: ContainerInstance, expression: str) -> bool:
    """A subset of the cluster query language: ``attribute:NAME ==|!= VALUE`` and
    ``attribute:NAME in|not_in [A, B]``, joined with ``and`` / ``or`` (left to right)."""
    terms = re.split(r"\s+(and|or)\s+", expression.strip())
    result = _term(instance, terms[0])
    for joiner, term in zip(terms[1::2], terms[2::2], strict=True):
        value = _term(instance, term)
        result = (result and value) if joiner == "and" else (result or value)
    return result


def _term(instance: ContainerInstance, term: str) -> bool:
    match = _MEMBER_OF.match(term)
    if match is None:
        raise ValueError(f"Unsupported memberOf expression: {term!r}")
    actual = instance.attribute(match["name"])
    raw = match["value"].strip()
    if match["op"] in ("in", "not_in"):
        values = {v.strip() for v in raw.strip("[]()").split(",")}
        inside = actual in values
        return inside if match["op"] == "in" else not inside
    return (actual == raw) if match["op"] == "==" else (actual != raw)


def _spread_key(instance: ContainerInstance, field: str) -> str | None:
    if field in ("instanceId", "host"):
        return instance.instance_id
    if field.startswith("attribute:"):
        return instance.attribute(field.removeprefix("attribute:"))
    raise ValueError(f"Unsupported spread field: {field!r}")


def place(
    cpu: int,
    memory: int,
    group: str,
    instances: Sequence[ContainerInstance],
    loads: dict[str, Load],
    *,
    strategies: Sequence[PlacementStrategy] = (),
    constraints: Sequence[PlacementConstraint] = (),
    seed: str = "",
) -> Placement:
    """The container instance one task of ``group`` goes to, or why none can take it."""
    active = [i for i in instances if i.status == "ACTIVE"]
    if not active:
        return Placement(None, "No Container Instances were found in your cluster.")
    fits: list[ContainerInstance] = []
    closest: tuple[int, str, str] | None = None  # (missing count, instance id, lacking)
    for instance in sorted(active, key=lambda i: i.instance_id):
        load = loads.get(instance.instance_id, Load())
        lacking = []
        if instance.memory - load.memory < memory:
            lacking.append("insufficient memory available")
        if instance.cpu - load.cpu < cpu:
            lacking.append("insufficient CPU units available")
        for constraint in constraints:
            if constraint.type == "distinctInstance" and group in load.groups:
                lacking.append("a task of this group already (distinctInstance)")
            elif constraint.type == "memberOf" and not member_of(instance, constraint.expression):
                lacking.append(f"no match for memberOf {constraint.expression}")
        if not lacking:
            fits.append(instance)
        elif closest is None or len(lacking) < closest[0]:
            closest = (len(lacking), instance.instance_id, " and ".join(lacking))
    if not fits:
        assert closest is not None
        return Placement(
            None,
            "no container instance met all of its requirements. The closest matching "
            f"container-instance {closest[1]} has {closest[2]}.",
        )
    candidates = fits
    for strategy in strategies:
        candidates = _narrow(
            strategy,
            candidates,
            everyone=active,
            loads=loads,
            cpu=cpu,
            memory=memory,
            group=group,
            seed=seed,
        )
    return Placement(candidates[0])


def _narrow(
    strategy: PlacementStrategy,
    candidates: list[ContainerInstance],
    *,
    everyone: list[ContainerInstance],
    loads: dict[str, Load],
    cpu: int,
    memory: int,
    group: str,
    seed: str,
) -> list[ContainerInstance]:
    if strategy.type == "random":
        return [random.Random(seed).choice(candidates)]  # noqa: S311 - placement, not secrets
    if strategy.type == "binpack":

        def left(instance: ContainerInstance) -> int:
            load = loads.get(instance.instance_id, Load())
            if strategy.field == "cpu":
                return instance.cpu - load.cpu - cpu
            return instance.memory - load.memory - memory

        least = min(left(i) for i in candidates)
        return [i for i in candidates if left(i) == least]
    if strategy.type == "spread":
        # Count the group's tasks per value over every instance, not just those that fit: an
        # empty zone whose instances are full still is the emptiest zone, it just cannot take it.
        counts: dict[str | None, int] = {}
        for instance in everyone:
            key = _spread_key(instance, strategy.field)
            placed = loads.get(instance.instance_id, Load()).groups.count(group)
            counts[key] = counts.get(key, 0) + placed
        fewest = min(counts[_spread_key(i, strategy.field)] for i in candidates)
        return [i for i in candidates if counts[_spread_key(i, strategy.field)] == fewest]
    raise ValueError(f"Unsupported placement strategy: {strategy.type!r}")


def with_task(load: Load, cpu: int, memory: int, group: str) -> Load:
    return Load(load.cpu + cpu, load.memory + memory, (*load.groups, group))
