"""The instance lifecycle of an Auto Scaling group, in AWS's state names, as a pure state machine.

An instance enters ``Pending`` at launch and ``InService`` once it runs; it leaves through
``Terminating``, ``Terminating:Wait``, ``Terminating:Proceed`` and ``Terminated``. Lifecycle
hooks add the waits: ``Pending:Wait`` after launch (launch hooks), ``Terminating:Wait`` before
the stop (terminate hooks), where each hook's *lifecycle action* waits for
CompleteLifecycleAction, or for its heartbeat timeout or the global timeout, when the hook's
``DefaultResult`` decides. In ``Terminating:Wait`` the load balancer drains the instance at
the same time; it proceeds when every action has a result *and* draining is over.

:func:`step` is a pure function of an instance's record, what the runtime and the load
balancer report, the group's hooks and the time, so the controller advances every instance a
little each pass without ever waiting, and a restarted orchestrator resumes each instance
from its persisted record. All times are the control plane's (AWS) clock, so the time scale
compresses heartbeat timeouts as it does every other duration.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from orchestrator.asg.hooks import (
    LifecycleActionResult,
    LifecycleHook,
    LifecycleTransition,
)
from orchestrator.scaling.activity import Activity


class LifecycleState(StrEnum):
    """botocore's ``LifecycleState`` values Barista uses (standby comes later)."""

    PENDING = "Pending"
    PENDING_WAIT = "Pending:Wait"
    PENDING_PROCEED = "Pending:Proceed"
    IN_SERVICE = "InService"
    TERMINATING = "Terminating"
    TERMINATING_WAIT = "Terminating:Wait"
    TERMINATING_PROCEED = "Terminating:Proceed"
    TERMINATED = "Terminated"
    # A warm pool's instances (orchestrator.asg.warm_pool): never the group's capacity.
    WARMED_PENDING = "Warmed:Pending"
    WARMED_PENDING_WAIT = "Warmed:Pending:Wait"
    WARMED_PENDING_PROCEED = "Warmed:Pending:Proceed"
    WARMED_STOPPED = "Warmed:Stopped"
    WARMED_RUNNING = "Warmed:Running"
    WARMED_HIBERNATED = "Warmed:Hibernated"
    WARMED_TERMINATING = "Warmed:Terminating"
    WARMED_TERMINATED = "Warmed:Terminated"

    @property
    def leaving(self) -> bool:
        """On its way out: no longer capacity, never chosen again for scale-in."""
        return self in _LEAVING

    @property
    def warmed(self) -> bool:
        """In the group's warm pool (any ``Warmed:*`` state): kept ready, not capacity."""
        return self.value.startswith("Warmed:")

    @property
    def gone(self) -> bool:
        """The end of the record: the controller deletes it."""
        return self in (LifecycleState.TERMINATED, LifecycleState.WARMED_TERMINATED)

    @property
    def waiting(self) -> bool:
        """Held by lifecycle hooks: CompleteLifecycleAction and heartbeats apply."""
        return self in (
            LifecycleState.PENDING_WAIT,
            LifecycleState.TERMINATING_WAIT,
            LifecycleState.WARMED_PENDING_WAIT,
        )


_LEAVING = frozenset(
    {
        LifecycleState.TERMINATING,
        LifecycleState.TERMINATING_WAIT,
        LifecycleState.TERMINATING_PROCEED,
        LifecycleState.TERMINATED,
        LifecycleState.WARMED_TERMINATING,
        LifecycleState.WARMED_TERMINATED,
    }
)

# What a warm pool's PoolState keeps its ready instances in.
WARMED_READY = frozenset(
    {
        LifecycleState.WARMED_STOPPED,
        LifecycleState.WARMED_RUNNING,
        LifecycleState.WARMED_HIBERNATED,
    }
)


@dataclass(frozen=True)
class LifecycleAction:
    """One hook's action on one instance: open until a result is recorded.

    ``heartbeat_deadline`` moves with each RecordLifecycleActionHeartbeat; ``global_deadline``
    never moves (AWS: 100 x HeartbeatTimeout or 48 hours from the start, whichever is less).
    """

    lifecycle_hook_name: str
    lifecycle_action_token: str
    heartbeat_timeout: int
    default_result: LifecycleActionResult
    started_at: float
    heartbeat_deadline: float
    global_deadline: float
    result: LifecycleActionResult | None = None
    # Why the result is what it is: "completed" by a caller, or "timed out" to the default.
    settled_by: str = ""

    @property
    def open(self) -> bool:
        return self.result is None


@dataclass(frozen=True)
class InstanceLifecycle:
    """The persisted lifecycle of one instance (the ``instance_lifecycles`` table).

    ``activity`` is the launch or termination activity the record belongs to, so its status
    (``MidLifecycleAction``, ``InProgress``, ``Successful``) follows the state.
    ``should_replace`` is False when the termination also lowered desired capacity.
    """

    instance_id: str
    auto_scaling_group_name: str
    state: LifecycleState
    since: float
    actions: tuple[LifecycleAction, ...] = ()
    activity: Activity | None = None
    drain_started: bool = False
    # A launch hook's ABANDON ends the instance: the record says why for the activity.
    abandoned: bool = False
    # A scale-in under a warm pool's ReuseOnScaleIn: after Terminating:Wait (hooks, draining)
    # the instance goes back to the warm pool instead of being terminated.
    to_warm_pool: bool = False
    # When the instance left the group's warm pool for the group (None: launched for it). Its
    # health check grace period counts from then, as AWS's counts from when it goes into
    # service, not from the launch that put it in the pool long before.
    left_warm_pool_at: float | None = None

    def open_action(
        self, hook_name: str, token: str | None = None
    ) -> tuple[int, LifecycleAction] | None:
        """The open action of ``hook_name`` (matching ``token`` when given)."""
        for index, action in enumerate(self.actions):
            if (
                action.open
                and action.lifecycle_hook_name == hook_name
                and (token is None or action.lifecycle_action_token == token)
            ):
                return index, action
        return None


def new_token() -> str:
    """A LifecycleActionToken: AWS's are UUIDs (36 characters, as the model requires)."""
    return str(uuid.uuid4())


def start_actions(
    hooks: Sequence[LifecycleHook], transition: LifecycleTransition, now: float
) -> tuple[LifecycleAction, ...]:
    """One open action per hook of ``transition``, all started together (AWS runs a group's
    hooks for one transition side by side)."""
    return tuple(
        LifecycleAction(
            lifecycle_hook_name=hook.lifecycle_hook_name,
            lifecycle_action_token=new_token(),
            heartbeat_timeout=hook.heartbeat_timeout,
            default_result=hook.default_result,
            started_at=now,
            heartbeat_deadline=now + hook.heartbeat_timeout,
            global_deadline=now + hook.global_timeout,
        )
        for hook in sorted(hooks, key=lambda h: h.lifecycle_hook_name)
        if hook.lifecycle_transition is transition
    )


def expire(actions: Sequence[LifecycleAction], now: float) -> tuple[LifecycleAction, ...]:
    """Open actions past their heartbeat or global deadline take their hook's DefaultResult."""
    return tuple(
        replace(a, result=a.default_result, settled_by="timed out")
        if a.open and now >= min(a.heartbeat_deadline, a.global_deadline)
        else a
        for a in actions
    )


def complete(
    record: InstanceLifecycle, index: int, result: LifecycleActionResult
) -> InstanceLifecycle:
    """CompleteLifecycleAction on one action. A terminating instance's ABANDON closes the
    others too (AWS: ABANDON stops any remaining actions; CONTINUE lets them finish)."""
    actions = list(record.actions)
    actions[index] = replace(actions[index], result=result, settled_by="completed")
    if result is LifecycleActionResult.ABANDON and record.state.leaving:
        actions = [
            replace(a, result=LifecycleActionResult.ABANDON, settled_by="abandoned")
            if a.open
            else a
            for a in actions
        ]
    return replace(record, actions=tuple(actions))


def heartbeat(record: InstanceLifecycle, index: int, now: float) -> InstanceLifecycle:
    """RecordLifecycleActionHeartbeat: the heartbeat timeout starts again, the global one
    does not."""
    actions = list(record.actions)
    action = actions[index]
    actions[index] = replace(action, heartbeat_deadline=now + action.heartbeat_timeout)
    return replace(record, actions=tuple(actions))


@dataclass(frozen=True)
class Observed:
    """What one pass knows about the instance besides its record."""

    exists: bool  # the runtime still lists it (in any health)
    starting: bool  # running, but its health check has not passed yet
    drained: bool  # the load balancer no longer routes to it (True without one)
    # The ready state of the group's warm pool (its PoolState), None when it has none or the
    # pool is being deleted: where a Warmed:Pending instance goes next.
    warm_pool: LifecycleState | None = None


def _enter(record: InstanceLifecycle, state: LifecycleState, now: float) -> InstanceLifecycle:
    return replace(record, state=state, since=now)


def step(  # noqa: PLR0911, PLR0912 - one return per transition reads as the diagram
    record: InstanceLifecycle,
    observed: Observed,
    hooks: Sequence[LifecycleHook],
    now: float,
) -> InstanceLifecycle:
    """One transition of ``record``, or ``record`` itself when it must wait.

    One at a time, because the controller acts on each state it enters before the next step
    is judged: it begins draining on entering ``Terminating:Wait`` (so ``observed.drained``
    means something only after that), stops the instance on entering
    ``Terminating:Proceed``, and finishes the activity on ``InService`` or ``Terminated``.
    """
    state = record.state
    if not observed.exists and not state.gone:
        # Gone behind our back (or stopped by the pass before): nothing left to wait for.
        gone = replace(record, actions=expire_all(record.actions))
        end = LifecycleState.WARMED_TERMINATED if state.warmed else LifecycleState.TERMINATED
        return _enter(gone, end, now)
    if state.warmed:
        return _step_warmed(record, observed, hooks, now)
    if state is LifecycleState.PENDING:
        actions = start_actions(hooks, LifecycleTransition.LAUNCHING, now)
        if actions:
            return replace(_enter(record, LifecycleState.PENDING_WAIT, now), actions=actions)
        if observed.starting:
            return record
        return _enter(record, LifecycleState.IN_SERVICE, now)
    if state is LifecycleState.PENDING_WAIT:
        actions = expire(record.actions, now)
        record = replace(record, actions=actions)
        if any(a.result is LifecycleActionResult.ABANDON for a in actions):
            # A launch abandoned: the instance is terminated (and replaced by the group).
            return replace(_enter(record, LifecycleState.TERMINATING, now), abandoned=True)
        if all(not a.open for a in actions):
            return _enter(record, LifecycleState.PENDING_PROCEED, now)
        return record
    if state is LifecycleState.PENDING_PROCEED:
        if observed.starting:
            return record
        return _enter(record, LifecycleState.IN_SERVICE, now)
    if state is LifecycleState.TERMINATING:
        actions = start_actions(hooks, LifecycleTransition.TERMINATING, now)
        return replace(
            _enter(record, LifecycleState.TERMINATING_WAIT, now),
            actions=actions,
            drain_started=True,
        )
    if state is LifecycleState.TERMINATING_WAIT:
        actions = expire(record.actions, now)
        record = replace(record, actions=actions)
        if all(not a.open for a in actions) and observed.drained:
            if record.to_warm_pool and observed.warm_pool is not None:
                # ReuseOnScaleIn: drained and released by its hooks, it goes back to the pool.
                return replace(
                    _enter(record, LifecycleState.WARMED_PENDING, now), drain_started=False
                )
            return _enter(record, LifecycleState.TERMINATING_PROCEED, now)
        return record
    return record


def _step_warmed(  # noqa: PLR0911 - one return per transition reads as the diagram
    record: InstanceLifecycle,
    observed: Observed,
    hooks: Sequence[LifecycleHook],
    now: float,
) -> InstanceLifecycle:
    """A warm pool instance: ``Warmed:Pending`` (``Warmed:Pending:Wait`` and
    ``Warmed:Pending:Proceed`` while the group's launch hooks hold it, as AWS runs them for an
    instance launched into the pool) until it has started (its health check passed), then the
    pool's state; with the pool gone, or a launch hook's ABANDON, out through
    ``Warmed:Terminating``. Leaving the pool for the group (``Pending``) is the controller's
    move, not a step."""
    state = record.state
    if state is LifecycleState.WARMED_TERMINATING:
        return record  # the stop is under way; the instance's absence ends the record
    if observed.warm_pool is None:
        return _enter(record, LifecycleState.WARMED_TERMINATING, now)
    if state is LifecycleState.WARMED_PENDING:
        actions = start_actions(hooks, LifecycleTransition.LAUNCHING, now)
        if actions:
            return replace(_enter(record, LifecycleState.WARMED_PENDING_WAIT, now), actions=actions)
    if state is LifecycleState.WARMED_PENDING_WAIT:
        actions = expire(record.actions, now)
        record = replace(record, actions=actions)
        if any(a.result is LifecycleActionResult.ABANDON for a in actions):
            return replace(_enter(record, LifecycleState.WARMED_TERMINATING, now), abandoned=True)
        if all(not a.open for a in actions):
            return _enter(record, LifecycleState.WARMED_PENDING_PROCEED, now)
        return record
    if state in (LifecycleState.WARMED_PENDING, LifecycleState.WARMED_PENDING_PROCEED):
        if observed.starting:
            return record
        return _enter(record, observed.warm_pool, now)
    return record


def expire_all(actions: Sequence[LifecycleAction]) -> tuple[LifecycleAction, ...]:
    """Close every open action (its instance is gone): later calls find no active action."""
    return tuple(
        replace(a, result=a.default_result, settled_by="instance gone") if a.open else a
        for a in actions
    )
