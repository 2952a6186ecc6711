"""The market's controller on a fake runtime and a manual clock: prices recorded as they
change, the newest instances interrupted when a pool runs out, two AWS minutes of notice,
then the stop; recommendations before that; nothing done twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from orchestrator.instance_types import limits
from orchestrator.instances import Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.controller import SpotMarketController
from orchestrator.spot.model import MarketSettings, Pool
from orchestrator.spot.notices import NoticeKind
from orchestrator.spot.operations import reclaim_capacity
from orchestrator.spot.store import SpotStore

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
# A quiet market: nobody else in the pools, so only what a test does moves it.
QUIET = MarketSettings(demand=0, demand_swing=0, noise=0, pool_capacity=4, zones=("az-a",))


def _launch(runtime: FakeRuntime, instance_id: str, lifecycle: Lifecycle = Lifecycle.SPOT) -> None:
    cpus, memory = limits("t3.micro")
    runtime.launch(
        "baristas",
        instance_id,
        template_name="baristas",
        template_version=1,
        data=LaunchTemplateData(image="x", cpus=cpus, memory_mib=memory),
        availability_zone="az-a",
        lifecycle=lifecycle,
        protected=False,
    )


def test_prices_recorded_once_per_change(tmp_path: Path) -> None:
    runtime = FakeRuntime(start=START)
    market = SpotMarketController(tmp_path / "db", runtime, QUIET)
    market.reconcile_once()
    with SpotStore(tmp_path / "db") as store:
        before = store.price_history(START - 90_000, START + 10)
    # The quiet pool's price never moved: one point per pool, the backfilled day's first.
    assert len(before) == len(market.reconcile_once().states)
    _launch(runtime, "i-1")
    runtime.advance(300)
    market.reconcile_once()
    market.reconcile_once()
    with SpotStore(tmp_path / "db") as store:
        latest = store.latest_prices()
    micro = latest[Pool("t3.micro", "az-a")]
    idle = {p.pool: p.price for p in before}[Pool("t3.micro", "az-a")]
    # Recorded at the step's start: one instance of the pool's four raised the price.
    assert micro[0] == START + 300
    assert micro[1] > idle


def test_reclaim_interrupts_with_two_minutes_notice_then_stops(tmp_path: Path) -> None:
    runtime = FakeRuntime(start=START)
    market = SpotMarketController(tmp_path / "db", runtime, QUIET)
    for instance_id in ("i-old", "i-new"):
        _launch(runtime, instance_id)
        runtime.advance(10)
    _launch(runtime, "i-on-demand", Lifecycle.ON_DEMAND)
    market.reconcile_once()
    with SpotStore(tmp_path / "db") as store:
        reclaim_capacity(store, QUIET, Pool("t3.micro", "az-a"), runtime.now())
    done = market.reconcile_once()
    assert set(done.interrupted) == {"i-old", "i-new"}
    with SpotStore(tmp_path / "db") as store:
        notice = store.notice("i-new")
    assert notice is not None
    assert notice.kind is NoticeKind.INTERRUPTION
    assert notice.action_time == notice.noticed_at + 120
    runtime.advance(119)
    assert market.reconcile_once().stopped == ()
    assert {i.instance_id for i in runtime.instances()} == {"i-old", "i-new", "i-on-demand"}
    runtime.advance(1)
    assert set(market.reconcile_once().stopped) == {"i-old", "i-new"}
    assert [i.instance_id for i in runtime.instances()] == ["i-on-demand"]
    # Nothing is stopped twice, and the notices of instances gone are forgotten.
    assert market.reconcile_once().stopped == ()
    with SpotStore(tmp_path / "db") as store:
        assert store.notices() == {}


def test_a_full_pool_interrupts_the_newest_first_after_recommending(tmp_path: Path) -> None:
    settings = MarketSettings(
        demand=0, demand_swing=0, noise=0, pool_capacity=3, rebalance_headroom=1, zones=("az-a",)
    )
    runtime = FakeRuntime(start=START)
    market = SpotMarketController(tmp_path / "db", runtime, settings)
    _launch(runtime, "i-1")
    assert market.reconcile_once().recommended == ()
    runtime.advance(5)
    _launch(runtime, "i-2")
    # Free 3, used 2: one left, at the headroom: both are at risk.
    assert set(market.reconcile_once().recommended) == {"i-1", "i-2"}
    runtime.advance(5)
    _launch(runtime, "i-3")
    runtime.advance(5)
    _launch(runtime, "i-4")
    done = market.reconcile_once()
    assert done.interrupted == ("i-4",)
    with SpotStore(tmp_path / "db") as store:
        assert store.notice("i-1").kind is NoticeKind.REBALANCE  # type: ignore[union-attr]
    assert market.reconcile_once().interrupted == ()
