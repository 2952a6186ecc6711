"""The load generator's loop on a simulated clock, its side door, and the order poster."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest
from starlette.testclient import TestClient

import services.loadgen
from services.lifecycle import side_door_app
from services.loadgen import pattern_routes
from services.loadgen.patterns import Pattern
from services.loadgen.poster import OrderPoster, Result, classify, random_order
from services.loadgen.runner import LoadGenerator
from services.orders import MAX_QUANTITY, MENU, OrderRequest


class SimulatedTime:
    """A clock that moves only when the loop sleeps on the stop event: no real waiting."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.on_sleep: list = []

    def __call__(self) -> float:
        return self.now


class SimulatedStop(threading.Event):
    def __init__(self, clock: SimulatedTime) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None, "the loop must never sleep without a bound"
        self.clock.now += timeout
        for hook in self.clock.on_sleep:
            hook(self.clock.now)
        return self.is_set()


def accept(_body: bytes) -> Result:
    return Result.ACCEPTED


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def settle(generator: LoadGenerator) -> None:
    """Let the sender threads finish in real time while simulated time stands still."""
    tally = generator.tally
    assert wait_until(lambda: tally.offered == tally.dropped + tally.sent)


def test_offered_orders_follow_a_compressed_day_within_1_percent():
    clock = SimulatedTime()
    day = Pattern(pattern="daily", rate=1, peak_rate=30, period=240)
    generator = LoadGenerator(day, accept, concurrency=4, report_interval=60, clock=clock)
    tally = generator.run(SimulatedStop(clock), duration=240)
    expected = sum(day.rate_at((n + 0.5) / 100) for n in range(24_000)) / 100
    assert tally.offered == pytest.approx(expected, rel=0.01)
    assert tally.offered == tally.dropped + tally.sent


def test_a_runtime_pattern_change_takes_effect_at_once_and_restarts_the_pattern_clock():
    clock = SimulatedTime()
    start = clock.now
    generator = LoadGenerator(Pattern(rate=10), accept, clock=clock)

    def switch_at_10_s(now: float) -> None:
        if now - start >= 10 and generator.pattern.rate == 10:
            generator.set_pattern(Pattern(pattern="ramp", rate=0, ramp_to=100, period=10))

    clock.on_sleep.append(switch_at_10_s)
    tally = generator.run(SimulatedStop(clock), duration=20)
    # 10 s at 10/s, then a ramp 0 → 100/s over 10 s measured from the change (500 orders).
    assert tally.offered == pytest.approx(100 + 500, rel=0.02)
    assert generator.status()["pattern"] == "ramp"


def test_when_every_sender_is_busy_orders_are_dropped_and_the_log_says_so(caplog):
    clock = SimulatedTime()
    gate = threading.Event()

    def stuck_api(_body: bytes) -> Result:
        gate.wait(10)
        return Result.ACCEPTED

    generator = LoadGenerator(Pattern(rate=20), stuck_api, concurrency=2, clock=clock)
    caplog.set_level(logging.INFO, logger="services.loadgen.runner")
    runner = threading.Thread(target=generator.run, args=(SimulatedStop(clock), 1.0))
    runner.start()
    assert wait_until(lambda: generator.tally.offered == 20)
    gate.set()
    runner.join(5)
    assert not runner.is_alive()
    assert (generator.tally.accepted, generator.tally.dropped) == (2, 18)
    warnings = [r for r in caplog.records if "all senders busy" in r.getMessage()]
    assert len(warnings) == 1
    [final] = [r for r in caplog.records if r.getMessage() == "load report"][-1:]
    assert final.dropped == 18
    assert final.dropping is True


def test_results_are_counted_by_class():
    clock = SimulatedTime()
    answers = iter([Result.ACCEPTED, Result.REJECTED, Result.UNAVAILABLE, Result.ERROR] * 5)
    lock = threading.Lock()

    def api(_body: bytes) -> Result:
        with lock:
            return next(answers)

    generator = LoadGenerator(Pattern(rate=10), api, concurrency=1, clock=clock)
    clock.on_sleep.append(lambda _now: settle(generator))
    tally = generator.run(SimulatedStop(clock), duration=2.0)
    assert tally.dropped == 0
    assert (tally.accepted, tally.rejected, tally.unavailable, tally.error) == (5, 5, 5, 5)


def test_a_post_that_raises_counts_as_an_error_and_frees_its_sender():
    clock = SimulatedTime()

    def broken(_body: bytes) -> Result:
        raise RuntimeError("bug")

    generator = LoadGenerator(Pattern(rate=5), broken, concurrency=1, clock=clock)
    clock.on_sleep.append(lambda _now: settle(generator))
    tally = generator.run(SimulatedStop(clock), duration=1.0)
    assert tally.error == tally.offered == 5


def test_a_stop_ends_the_run_promptly_in_real_time():
    generator = LoadGenerator(Pattern(rate=0.01), accept)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    generator.run(stop)
    assert time.monotonic() - began < 1.0


@pytest.fixture
def side_door() -> tuple[TestClient, LoadGenerator]:
    generator = LoadGenerator(Pattern(rate=3), accept)
    app = side_door_app(lambda: True, pattern_routes(generator))
    return TestClient(app), generator


def test_get_pattern_shows_the_pattern_and_the_rate_it_asks_for_now(side_door):
    client, _ = side_door
    body = client.get("/pattern").json()
    assert body["pattern"] == "steady"
    assert body["target_rate"] == 3
    assert client.get("/healthz").status_code == 200


def test_post_pattern_changes_only_the_fields_given(side_door):
    client, generator = side_door
    response = client.post("/pattern", json={"pattern": "spike", "peak_rate": 40})
    assert response.status_code == 200
    assert generator.pattern == Pattern(pattern="spike", rate=3, peak_rate=40)
    assert response.json()["pattern"] == "spike"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"rate": -1}, 422),
        ({"pattern": "wavy"}, 422),
        ({"rpm": 5}, 422),
        ([1, 2], 400),
        ("not json", 400),
    ],
)
def test_post_pattern_refuses_bad_bodies_and_keeps_the_pattern(side_door, body, status):
    client, generator = side_door
    if isinstance(body, str):
        response = client.post("/pattern", content=body)
    else:
        response = client.post("/pattern", json=body)
    assert response.status_code == status
    assert generator.pattern == Pattern(rate=3)


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (200, Result.ACCEPTED),
        (202, Result.ACCEPTED),
        (400, Result.REJECTED),
        (422, Result.REJECTED),
        (429, Result.UNAVAILABLE),
        (502, Result.UNAVAILABLE),
        (503, Result.UNAVAILABLE),
        (504, Result.UNAVAILABLE),
        (500, Result.ERROR),
        (302, Result.ERROR),
    ],
)
def test_responses_are_classified(status, result):
    assert classify(status) is result


def test_random_orders_are_valid_and_customers_return():
    rng = random.Random(7)
    orders = [random_order(rng) for _ in range(500)]
    for order in orders:
        assert OrderRequest.model_validate_json(order.model_dump_json()) == order
        assert all(i.item in MENU and 1 <= i.quantity <= MAX_QUANTITY for i in order.items)
    assert len({o.customer.id for o in orders}) < len(orders)
    assert {i.item for o in orders for i in o.items} == set(MENU)


def test_the_poster_posts_to_orders_under_the_target_path():
    assert OrderPoster("http://haproxy:8080", 1).url == "http://haproxy:8080/orders"
    assert OrderPoster("http://lb/api/", 1).url == "http://lb/api/orders"
    with pytest.raises(ValueError, match="http"):
        OrderPoster("haproxy:8080", 1)


def test_the_poster_counts_a_refused_connection_as_an_error():
    poster = OrderPoster("http://127.0.0.1:9", 1)  # discard port: nothing listens
    assert poster.post(b"{}") is Result.ERROR


def test_main_refuses_bad_settings_naming_the_variables(monkeypatch, capsys):
    monkeypatch.setattr(services.loadgen.logs, "configure", lambda _service: None)
    assert services.loadgen.main({"BARISTA_PATTERN": "wavy"}) == 2
    err = capsys.readouterr().err
    assert "BARISTA_TARGET_URL" in err
    assert "BARISTA_PATTERN" in err
