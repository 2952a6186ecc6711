from __future__ import annotations

import itertools

import pytest

from services.loadgen.patterns import Pattern, PatternName, Schedule

HOUR = 10.0  # the compressed day below: period 240 s, so an hour lasts 10 s


def integral(pattern: Pattern, horizon: float, step: float = 0.01) -> float:
    """∫ rate dt over [0, horizon) by the midpoint rule (the expected number of orders)."""
    steps = round(horizon / step)
    return sum(pattern.rate_at((n + 0.5) * step) for n in range(steps)) * step


def sends_before(pattern: Pattern, horizon: float) -> list[float]:
    schedule = Schedule(pattern.rate_at)
    sends = []
    while True:
        at, due = schedule.next_event()
        if at >= horizon:
            return sends
        if due:
            sends.append(at)


def test_steady_is_constant():
    steady = Pattern(pattern=PatternName.STEADY, rate=7.5)
    assert [steady.rate_at(t) for t in (0, 1, 59.9, 3600)] == [7.5] * 4


def test_spike_holds_the_peak_for_its_duration_then_returns_to_base():
    spike = Pattern(pattern="spike", rate=5, peak_rate=50, spike_at=60, spike_duration=30)
    assert spike.rate_at(0) == 5
    assert spike.rate_at(59.99) == 5
    assert spike.rate_at(60) == 50
    assert spike.rate_at(89.99) == 50
    assert spike.rate_at(90) == 5
    assert spike.rate_at(10_000) == 5


def test_ramp_is_linear_over_the_period_then_holds():
    ramp = Pattern(pattern="ramp", rate=2, ramp_to=22, period=100)
    assert ramp.rate_at(0) == 2
    assert ramp.rate_at(25) == pytest.approx(7)
    assert ramp.rate_at(50) == pytest.approx(12)
    assert ramp.rate_at(100) == 22
    assert ramp.rate_at(1000) == 22


def test_ramp_can_go_down():
    assert Pattern(pattern="ramp", rate=20, ramp_to=0, period=10).rate_at(5) == pytest.approx(10)


@pytest.fixture
def day() -> Pattern:
    return Pattern(pattern="daily", rate=1, peak_rate=21, period=24 * HOUR)


def test_daily_peaks_at_the_morning_rush(day: Pattern):
    assert day.rate_at(8 * HOUR) == pytest.approx(21)
    assert max(day.rate_at(t / 10) for t in range(2400)) == pytest.approx(21, rel=1e-3)


def test_daily_has_a_lunch_peak_below_the_morning_one_and_a_dip_between(day: Pattern):
    lunch = day.rate_at(12.5 * HOUR)
    assert lunch == pytest.approx(1 + 0.8 * 20, rel=0.02)
    between = min(day.rate_at(h * HOUR) for h in (9.5, 10, 10.5, 11, 11.5))
    assert between < lunch - 5
    assert between < day.rate_at(8 * HOUR) - 5


def test_daily_is_at_its_minimum_at_night(day: Pattern):
    samples = {t / 10: day.rate_at(t / 10) for t in range(2400)}
    quietest = min(samples, key=samples.__getitem__)
    assert quietest < 5 * HOUR or quietest > 20 * HOUR
    assert day.rate_at(3 * HOUR) == pytest.approx(1, abs=0.1)
    assert day.rate_at(23 * HOUR) == pytest.approx(1, abs=0.01)


def test_daily_is_smooth_and_repeats_every_period(day: Pattern):
    rates = [day.rate_at(t / 10) for t in range(2401)]
    assert max(abs(b - a) for a, b in itertools.pairwise(rates)) < 0.5
    for t in (0, 33.3, 80, 125):
        assert day.rate_at(t + day.period) == pytest.approx(day.rate_at(t))


def test_steady_20_per_second_sends_40_evenly_spaced_orders_in_2_seconds():
    sends = sends_before(Pattern(rate=20), 2.0)
    assert len(sends) == 40
    assert sends[0] == pytest.approx(0.025)
    assert sends[1] - sends[0] == pytest.approx(0.05)
    assert sends[-1] == pytest.approx(1.975)


@pytest.mark.parametrize(
    ("pattern", "horizon"),
    [
        (Pattern(pattern="steady", rate=3.3), 600),
        (Pattern(pattern="steady", rate=0.7), 600),
        (Pattern(pattern="spike", rate=5, peak_rate=40, spike_at=60, spike_duration=30), 180),
        (Pattern(pattern="ramp", rate=1, ramp_to=30, period=120), 180),
        (Pattern(pattern="ramp", rate=0, ramp_to=10, period=120), 180),
        (Pattern(pattern="daily", rate=0.5, peak_rate=30, period=240), 240),
        (Pattern(pattern="daily", rate=0, peak_rate=12, period=600), 1200),
    ],
    ids=["steady", "steady-slow", "spike", "ramp", "ramp-from-zero", "daily", "daily-from-zero"],
)
def test_schedule_sends_the_integral_of_the_rate_within_1_percent(pattern: Pattern, horizon):
    expected = integral(pattern, horizon)
    assert len(sends_before(pattern, horizon)) == pytest.approx(expected, rel=0.01)


def test_schedule_sends_nothing_at_rate_zero_and_follows_a_rise_within_one_step():
    spike = Pattern(pattern="spike", rate=0, peak_rate=10, spike_at=5, spike_duration=2)
    sends = sends_before(spike, 20)
    assert len(sends) == 20
    assert min(sends) == pytest.approx(5, abs=0.2)
    assert max(sends) < 7.2


def test_pattern_refuses_negative_rates_and_empty_periods():
    with pytest.raises(ValueError, match="rate"):
        Pattern(rate=-1)
    with pytest.raises(ValueError, match="period"):
        Pattern(period=0)
