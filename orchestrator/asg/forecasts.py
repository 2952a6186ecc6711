"""Predictive scaling in the control loop: keep each policy's forecast fresh, act on it.

A forecast is made from the load metric's stored history once there are 24 hours of it and
remade every 6 hours of AWS time (``orchestrator.scaling.forecast``); each run is recorded in
the store, so a restarted orchestrator keeps its forecast and its schedule. Until the history
is long enough, every pass tries again: with under 24 hours that reads under a day of
datapoints, and a history seeded through PutMetricData is used as soon as it is there.

In ForecastAndScale, :func:`orchestrator.scaling.predictive.predictive_action` says what the
current hour's forecast asks of the group: a floor the scaling controller weighs against its
dynamic policies, and with IncreaseMaxCapacity a higher MaxSize, saved here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from orchestrator.asg.group import AutoScalingGroup
from orchestrator.asg.store import Store
from orchestrator.scaling.decision import ScalingDecision
from orchestrator.scaling.forecast import (
    MAXIMUM_HISTORY,
    InsufficientHistory,
    due,
    make_forecast,
)
from orchestrator.scaling.policy import ScalingPolicy
from orchestrator.scaling.predictive import (
    HOUR,
    Forecast,
    PredictiveScalingConfiguration,
    predictive_action,
)

log = logging.getLogger(__name__)


def refresh_forecast(
    store: Store, policy: ScalingPolicy, config: PredictiveScalingConfiguration, now: float
) -> Forecast | None:
    """The policy's current forecast, remade first when one is due; ``None`` while the load
    metric has under 24 hours of history."""
    group, name = policy.auto_scaling_group_name, policy.policy_name
    _, forecast = store.forecast(group, name)
    if not due(forecast.update_time if forecast is not None else None, now):
        return forecast
    points = store.datapoints_between(config.load_series, now - MAXIMUM_HISTORY - HOUR, now)
    try:
        made = make_forecast(points, config.target_value, now)
    except InsufficientHistory as why:
        store.put_forecast(group, name, now, None)
        log.debug("no forecast yet", extra={"policy": name, "reason": str(why)})
        return forecast
    store.put_forecast(group, name, now, made)
    log.info("forecast made", extra={"group": group, "policy": name})
    return made


@dataclasses.dataclass(frozen=True)
class ForecastFloor:
    """A ForecastAndScale policy's answer for this pass: the capacity it holds the group at
    (``capacity``) and the decision, for the scaling controller's largest-wins rule."""

    policy_name: str
    capacity: int
    decision: ScalingDecision


def apply_forecasts(
    store: Store,
    group: AutoScalingGroup,
    policies: Sequence[ScalingPolicy],
    now: float,
) -> tuple[AutoScalingGroup, list[ForecastFloor]]:
    """Refresh every predictive policy's forecast; for those in ForecastAndScale, lift
    MaxSize where IncreaseMaxCapacity says so (saved at once) and return their floors."""
    floors = []
    for policy in policies:
        config = policy.definition
        if not isinstance(config, PredictiveScalingConfiguration):
            continue
        forecast = refresh_forecast(store, policy, config, now)
        if forecast is None:
            continue
        action = predictive_action(
            config,
            forecast,
            min_size=group.min_size,
            max_size=group.max_size,
            desired_capacity=group.desired_capacity,
            policy_name=policy.policy_name,
            now=now,
        )
        if action is None:
            continue
        if action.max_size is not None and action.max_size > group.max_size:
            group = dataclasses.replace(group, max_size=action.max_size)
            store.put_group(group)
            log.info(
                "forecast raised max size",
                extra={"group": group.auto_scaling_group_name, "max_size": action.max_size},
            )
        floors.append(ForecastFloor(policy.policy_name, action.minimum, action.decision))
    return group, floors
