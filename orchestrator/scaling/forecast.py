"""The load forecast behind predictive scaling: hourly history in, 48 hourly values out.

AWS does not disclose its model; it documents the behaviour this follows: at least 24 hours of
metric history before the first forecast, up to the last 14 days used, one value per hour for
the next 48 hours, refreshed every 6 hours (:data:`REFRESH_INTERVAL`).

The model is Holt-Winters exponential smoothing with an additive daily season
(``statsmodels.tsa.holtwinters.ExponentialSmoothing``, seasonal period 24 hours, no trend):
a level and 24 hourly offsets, smoothed so recent days weigh more than old ones, with the
smoothing weights fitted to the history by statsmodels. It is chosen because a coffee shop's
load is a daily pattern, and because it is a documented, maintained, well-tested model rather
than one of our own. With two or more days of history statsmodels estimates the initial level
and season too; with one to two days (fewer than the two full seasons its estimator needs) the
first day gives them: its mean is the initial level and each hour's difference from that mean
the initial season, the textbook initialisation.

Pure: the caller passes the datapoints and ``now`` (AWS time); nothing here reads a clock or
a store.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

from orchestrator.scaling.predictive import HOUR, Forecast, capacity_forecast

MINIMUM_HISTORY = 24 * HOUR  # AWS: "a minimum of 24 hours of data" for the first forecast
MAXIMUM_HISTORY = 14 * 24 * HOUR  # AWS analyses up to the past 14 days
HORIZON_HOURS = 48  # AWS forecasts the next two days, hourly
REFRESH_INTERVAL = 6 * HOUR  # AWS updates the forecast every 6 hours
SEASON = 24  # hours: one day


class InsufficientHistory(Exception):
    """Fewer than 24 hours of history: AWS makes no forecast yet, and neither do we."""


def hourly_history(
    datapoints: Iterable[tuple[float, float]], now: float
) -> tuple[float, list[float]]:
    """The last 14 days' datapoints as one mean per whole hour before ``now``.

    Returns the start of the first hour and the hourly values, oldest first. An hour with no
    datapoint takes the value of the hour before it (a gap in CloudWatch is missing data, not
    zero load). Raises :class:`InsufficientHistory` when the hours span less than 24 hours.
    """
    current_hour = math.floor(now / HOUR) * HOUR
    since = current_hour - MAXIMUM_HISTORY
    buckets: dict[int, list[float]] = {}
    for when, value in datapoints:
        if since <= when < current_hour:
            buckets.setdefault(int((when - since) // HOUR), []).append(value)
    if not buckets:
        raise InsufficientHistory("no metric history yet")
    first, last = min(buckets), max(buckets)
    if last - first + 1 < SEASON:
        raise InsufficientHistory(
            f"{last - first + 1} hour(s) of metric history; predictive scaling needs 24"
        )
    values: list[float] = []
    for index in range(first, last + 1):
        points = buckets.get(index)
        values.append(sum(points) / len(points) if points else values[-1])
    return since + first * HOUR, values


def forecast_load(history: list[float]) -> list[float]:
    """The next :data:`HORIZON_HOURS` hourly values after ``history`` (hourly, oldest first).

    Loads are never negative, so neither is a forecast value.
    """
    import numpy as np  # noqa: PLC0415 - numpy and statsmodels load only when forecasting

    if len(history) < SEASON:
        raise InsufficientHistory(f"{len(history)} hour(s) of history; 24 needed")
    series = np.asarray(history, dtype=float)
    if np.ptp(series) == 0:
        return [float(series[0])] * HORIZON_HOURS  # a flat line: nothing to fit
    with warnings.catch_warnings():
        # The optimiser's convergence notices, and the information criteria of a fit that is
        # exact (log of a zero error), are about the fit's diagnostics, not its forecast.
        warnings.simplefilter("ignore")
        return [max(0.0, float(v)) for v in _fitted(series).forecast(HORIZON_HOURS)]


def _fitted(series: Any) -> Any:
    """Holt-Winters fitted to ``series``, initialised as the module docstring says."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: PLC0415

    if len(series) >= 2 * SEASON:
        model = ExponentialSmoothing(
            series, seasonal="add", seasonal_periods=SEASON, initialization_method="estimated"
        )
    else:
        level = float(series[:SEASON].mean())
        model = ExponentialSmoothing(
            series,
            seasonal="add",
            seasonal_periods=SEASON,
            initialization_method="known",
            initial_level=level,
            initial_seasonal=series[:SEASON] - level,
        )
    return model.fit()


def make_forecast(
    datapoints: Iterable[tuple[float, float]], target_value: float, now: float
) -> Forecast:
    """The load and capacity forecast for the 48 hours after the current hour.

    The first forecast hour is the one after the last whole hour of history, so the current
    hour is forecast too; raises :class:`InsufficientHistory` under 24 hours of history.
    """
    start, history = hourly_history(datapoints, now)
    load = forecast_load(history)
    first = start + len(history) * HOUR
    timestamps = tuple(first + i * HOUR for i in range(HORIZON_HOURS))
    return Forecast(
        update_time=now,
        timestamps=timestamps,
        load=tuple(load),
        capacity=capacity_forecast(load, target_value),
    )


def due(last_update: float | None, now: float) -> bool:
    """Whether a new forecast is due: none yet, or the last is 6 hours old."""
    return last_update is None or now - last_update >= REFRESH_INTERVAL
