"""``orchestrator.loop.in_order``: bounded, results in the items' order, failures in place."""

from __future__ import annotations

import threading

import pytest

from orchestrator.loop import in_order


class Gate:
    """Holds each call until ``width`` calls are in flight together (or every call has
    begun), so a test sees how many a pool runs at once without timing anything."""

    def __init__(self, width: int, total: int) -> None:
        self.width, self.total = width, total
        self.in_flight = self.most = self.begun = 0
        self.threads: set[int] = set()
        self._cond = threading.Condition()

    def enter(self) -> None:
        with self._cond:
            self.in_flight += 1
            self.begun += 1
            self.most = max(self.most, self.in_flight)
            self.threads.add(threading.get_ident())
            self._cond.notify_all()
            opened = self._cond.wait_for(
                lambda: self.in_flight >= self.width or self.begun >= self.total, timeout=10
            )
            assert opened, f"only {self.in_flight} calls in flight, {self.begun} begun"

    def leave(self) -> None:
        with self._cond:
            self.in_flight -= 1


def test_at_most_workers_calls_run_at_once_and_results_keep_the_items_order():
    gate = Gate(width=4, total=20)
    finished: list[int] = []

    def call(item: int) -> int:
        gate.enter()
        try:
            finished.append(item)
            return item * 10
        finally:
            gate.leave()

    assert list(in_order(call, list(range(20)), workers=4)) == [i * 10 for i in range(20)]
    assert gate.most == 4  # parallel, and bounded
    assert sorted(finished) == list(range(20))


def test_a_later_item_finishing_first_is_yielded_after_the_earlier_one():
    first_may_finish = threading.Event()
    order: list[str] = []

    def call(item: str) -> str:
        if item == "first":
            assert first_may_finish.wait(10)
        else:
            order.append(item)
            first_may_finish.set()
        return item

    assert list(in_order(call, ["first", "second"], workers=2)) == ["first", "second"]
    assert order == ["second"]  # it did finish first


def test_a_failing_call_raises_at_its_place_after_the_ones_before_it():
    def call(item: int) -> int:
        if item == 2:
            raise RuntimeError("two failed")
        return item

    results = in_order(call, [0, 1, 2, 3], workers=3)
    assert next(results) == 0
    assert next(results) == 1
    with pytest.raises(RuntimeError, match="two failed"):
        next(results)


def test_one_worker_runs_every_call_on_the_calling_thread_in_order():
    seen: list[tuple[int, int]] = []

    def call(item: int) -> int:
        seen.append((item, threading.get_ident()))
        return item

    assert list(in_order(call, [3, 1, 2], workers=1)) == [3, 1, 2]
    assert seen == [
        (3, threading.get_ident()),
        (1, threading.get_ident()),
        (2, threading.get_ident()),
    ]
