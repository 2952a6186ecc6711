"""One clock: the daily pattern's day is a day of the control plane's scaled clock, and its
morning rush comes when that clock says 08:00."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.loadgen import LoadgenSettings
from services.loadgen.clock import ScaledClockReading, day_length, day_offset, read_clock
from services.loadgen.patterns import Pattern
from services.loadgen.poster import Result
from services.loadgen.runner import LoadGenerator
from services.settings import load
from tests.unit.services.test_loadgen_runner import SimulatedStop, SimulatedTime

HOUR = 3600.0
# 2026-12-04 07:00:00 UTC in AWS seconds, as the orchestrator's clock would answer it.
SEVEN_AM = 1_796_367_600.0


def accept(_body: bytes) -> Result:
    return Result.ACCEPTED


def test_a_day_lasts_86400_over_the_time_scale_wall_seconds():
    assert day_length(60) == 1440.0
    assert day_length(1) == 86400.0


def test_the_offset_is_where_the_clock_s_time_of_day_falls_in_the_period():
    assert SEVEN_AM % 86400 == 7 * HOUR
    assert day_offset(SEVEN_AM, 1440) == pytest.approx(7 / 24 * 1440)
    assert day_offset(SEVEN_AM - 7 * HOUR, 1440) == 0.0


def test_the_default_period_is_a_day_of_the_scaled_clock_and_period_overrides_it():
    base = {"BARISTA_TARGET_URL": "http://haproxy:9080", "BARISTA_PATTERN": "daily"}
    assert load(LoadgenSettings, base | {"BARISTA_TIME_SCALE": "60"}).load_pattern().period == 1440
    explicit = base | {"BARISTA_TIME_SCALE": "60", "BARISTA_PERIOD": "600"}
    assert load(LoadgenSettings, explicit).load_pattern().period == 600
    # Compose passes an unset LOADGEN_PERIOD as empty: the same as not set.
    empty = base | {"BARISTA_TIME_SCALE": "60", "BARISTA_PERIOD": ""}
    assert load(LoadgenSettings, empty).load_pattern().period == 1440
    assert load(LoadgenSettings, base).load_pattern().period == 300  # no scale: as before


def test_the_rush_comes_when_the_control_plane_clock_says_08_00():
    """At x60 the clock reads 07:00 when the generator starts: an hour of its day is 60 wall
    seconds, so the highest rate is asked for at t = 60 s, not at 8/24 of the period."""
    clock = SimulatedTime()
    reading = ScaledClockReading(SEVEN_AM, wall=clock.now, time_scale=60)
    day = Pattern(pattern="daily", rate=1, peak_rate=30, period=day_length(60))
    generator = LoadGenerator(day, accept, clock=clock, day_clock=lambda: reading.now(clock.now))
    status = generator.status()
    assert status["aligned_to_clock"] is True
    assert status["hour"] == pytest.approx(7.0)
    rates = {t: generator.pattern.rate_at(t) for t in range(0, 1440, 5)}
    assert max(rates, key=rates.__getitem__) == 60
    assert rates[60] == pytest.approx(30)


def test_a_pattern_change_restarts_the_day_at_the_clock_s_hour():
    clock = SimulatedTime()
    reading = ScaledClockReading(SEVEN_AM, wall=clock.now, time_scale=60)
    quiet = Pattern(pattern="steady", rate=0, peak_rate=0, period=day_length(60))
    generator = LoadGenerator(quiet, accept, clock=clock, day_clock=lambda: reading.now(clock.now))
    assert generator.pattern.day_offset == 0.0  # only a daily pattern is aligned
    stop = SimulatedStop(clock)
    daily = Pattern.model_validate(quiet.model_dump() | {"pattern": "daily"})

    def switch_two_hours_later(now: float) -> None:
        # Two hours of the scaled clock are 120 wall seconds at x60.
        if now >= 5120 and generator.pattern.pattern != "daily":
            generator.set_pattern(daily)
        if now >= 5130:
            stop.set()

    clock.on_sleep.append(switch_two_hours_later)
    generator.run(stop)
    assert generator.pattern.pattern == "daily"
    hour_at_restart = 24 * generator.pattern.day_offset / generator.pattern.period
    assert hour_at_restart == pytest.approx(9.0, abs=0.01)


def test_without_a_clock_the_day_starts_at_midnight_as_before():
    generator = LoadGenerator(Pattern(pattern="daily", period=240), accept)
    assert generator.status()["hour"] == pytest.approx(0.0, abs=0.1)
    assert generator.status()["aligned_to_clock"] is False


class ClockHandler(BaseHTTPRequestHandler):
    answer: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def clock_server() -> Iterator[tuple[str, type[ClockHandler]]]:
    handler = type("Handler", (ClockHandler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/dashboard/clock", handler
    server.shutdown()
    server.server_close()


def test_the_clock_is_read_from_the_orchestrator(clock_server):
    url, handler = clock_server
    handler.answer = json.dumps({"now": SEVEN_AM, "wall": 1.0, "time_scale": 60}).encode()
    reading = read_clock(url)
    assert reading is not None
    assert (reading.aws_now, reading.time_scale) == (SEVEN_AM, 60)
    assert reading.now(reading.wall + 60) == SEVEN_AM + HOUR


def test_a_clock_that_does_not_answer_or_answers_nonsense_is_none_with_a_warning(
    clock_server, caplog
):
    url, handler = clock_server
    handler.answer = b'{"now": "soon"}'
    waits: list[float] = []
    assert read_clock(url, attempts=3, wait=waits.append) is None
    assert waits == [1.0, 1.0]
    assert "does not answer" in caplog.text
    handler.answer = json.dumps({"now": 1.0, "time_scale": 0}).encode()
    assert read_clock(url, attempts=1) is None
