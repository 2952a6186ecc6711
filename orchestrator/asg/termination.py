"""Which instance goes first on scale-in: AWS's termination policies as candidate filters.

AWS applies a group's policies in order; each narrows the candidates to the ones it prefers,
and the next policy only breaks ties among those. ``Default`` is always the last word, so the
choice is total. Before any policy runs, AWS picks the Availability Zone with the most
instances that still has an unprotected one — balance across zones beats every policy.

Default's order, as AWS documents it and as read here:
1. zone with the most instances (done by the caller, for every policy);
2. allocation strategy, for a group with a mixed instances policy: the market over its share
   of the On-Demand/Spot split, then the pool its allocation strategy likes least (the
   planner builds this filter, ``allocation``, since it needs the market); the
   ``AllocationStrategy`` policy is this step alone;
3. instances on a *different* launch template than the group's, then those on the *oldest
   version* of the group's template;
4. closest to the next billing hour;
5. random — here a deterministic pseudo-random order (a hash of the instance id), so a replan
   picks the same instance.

The billing hour is a clock started at ``launched_at``: an instance is billed in whole hours
from its launch, so the time to its next hour is ``3600 - (now - launched_at) mod 3600``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from orchestrator.asg.group import TerminationPolicy
from orchestrator.instances import Instance

INSTANCE_HOUR = 3600.0

Filter = Callable[[Sequence[Instance]], list[Instance]]


def seconds_to_next_instance_hour(instance: Instance, now: float) -> float:
    """Time until the instance starts its next billed hour, counted from its launch."""
    return INSTANCE_HOUR - ((now - instance.launched_at) % INSTANCE_HOUR)


def _keep_min(
    candidates: Sequence[Instance], key: Callable[[Instance], tuple[float, ...]]
) -> list[Instance]:
    keys = [key(i) for i in candidates]
    best = min(keys)
    return [i for i, k in zip(candidates, keys, strict=True) if k == best]


def _tie_break(instance: Instance) -> str:
    return hashlib.sha256(instance.instance_id.encode()).hexdigest()


def filters(template_name: str, now: float, allocation: Filter | None = None) -> dict[str, Filter]:
    """One filter per policy, for a group whose current launch template is ``template_name``
    (and, with a mixed instances policy, its ``allocation`` filter)."""

    def oldest_launch_template(candidates: Sequence[Instance]) -> list[Instance]:
        # Another template ranks before any version of ours; then oldest version first.
        return _keep_min(
            candidates,
            lambda i: (float(i.launch_template == template_name), float(i.template_version)),
        )

    def closest(candidates: Sequence[Instance]) -> list[Instance]:
        return _keep_min(candidates, lambda i: (seconds_to_next_instance_hour(i, now),))

    def allocation_strategy(candidates: Sequence[Instance]) -> list[Instance]:
        return list(candidates) if allocation is None else allocation(candidates)

    def default(candidates: Sequence[Instance]) -> list[Instance]:
        for step in (allocation_strategy, oldest_launch_template, closest):
            candidates = step(candidates)
        return [min(candidates, key=_tie_break)]

    def unmodelled(candidates: Sequence[Instance]) -> list[Instance]:
        # No launch configurations here: the policy prefers nobody.
        return list(candidates)

    return {
        TerminationPolicy.DEFAULT: default,
        TerminationPolicy.OLDEST_INSTANCE: lambda c: _keep_min(c, lambda i: (i.launched_at,)),
        TerminationPolicy.NEWEST_INSTANCE: lambda c: _keep_min(c, lambda i: (-i.launched_at,)),
        TerminationPolicy.OLDEST_LAUNCH_CONFIGURATION: unmodelled,
        TerminationPolicy.OLDEST_LAUNCH_TEMPLATE: oldest_launch_template,
        TerminationPolicy.CLOSEST_TO_NEXT_INSTANCE_HOUR: closest,
        TerminationPolicy.ALLOCATION_STRATEGY: allocation_strategy,
    }


def select_for_termination(
    candidates: Sequence[Instance],
    policies: Sequence[TerminationPolicy],
    *,
    template_name: str,
    now: float,
    allocation: Filter | None = None,
) -> Instance:
    """Apply the policies in order, Default last, and return the one instance they agree on."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    by_policy = filters(template_name, now, allocation)
    remaining = list(candidates)
    for policy in (*policies, TerminationPolicy.DEFAULT):
        remaining = by_policy[policy](remaining)
        if len(remaining) == 1:
            break
    return remaining[0]
