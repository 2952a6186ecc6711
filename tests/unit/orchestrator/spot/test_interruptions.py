"""Interruptions end to end on a fake runtime: the market's notice, the group's activity, the
metadata service's answer, the stop two AWS minutes later and the replacement; with
CapacityRebalance the replacement comes first and the warned instance goes once it is in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from orchestrator.api import ApiContext
from orchestrator.api.instance_metadata import Tokens, routes
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.group import create_auto_scaling_group
from orchestrator.asg.mixed import Override, instances_distribution, mixed_instances_policy
from orchestrator.asg.store import Store
from orchestrator.instances import Health, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.controller import SpotMarketController
from orchestrator.spot.model import MarketSettings, Pool
from orchestrator.spot.operations import reclaim_capacity
from orchestrator.spot.store import SpotStore

START = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
QUIET = MarketSettings(demand=0, demand_swing=0, noise=0, pool_capacity=6, zones=("az-a",))
ALL_SPOT = mixed_instances_policy(
    (Override("t3.micro"), Override("t3.small")),
    instances_distribution(
        on_demand_percentage_above_base_capacity=0,
        spot_allocation_strategy="lowest-price",
        spot_instance_pools=1,
    ),
)


class Shop:
    """One all-Spot group of two, the market and the group's controller on one clock."""

    def __init__(
        self, path: Path, capacity_rebalance: bool, initial_health: Health = Health.HEALTHY
    ) -> None:
        self.path = path
        self.runtime = FakeRuntime(start=START, initial_health=initial_health)
        self.market = SpotMarketController(path, self.runtime, QUIET)
        with Store(path) as store:
            store.put_launch_template(create_launch_template("web", LaunchTemplateData(image="x")))
            group = create_auto_scaling_group(
                "web",
                "web",
                min_size=0,
                max_size=6,
                desired_capacity=2,
                availability_zones=["az-a"],
                capacity_rebalance=capacity_rebalance,
            )
            store.put_group(replace(group, mixed_instances_policy=ALL_SPOT))

    def tick(self, seconds: float = 0) -> None:
        self.runtime.advance(seconds)
        self.market.reconcile_once()
        with Store(self.path) as store:
            AutoScalingController(store, self.runtime, market=self.market.quotes).reconcile_once()

    def ids(self) -> set[str]:
        return {i.instance_id for i in self.runtime.instances()}

    def pool_of_first(self) -> Pool:
        first = min(self.runtime.instances(), key=lambda i: i.instance_id)
        assert first.instance_type is not None
        return Pool(first.instance_type, first.availability_zone)

    def reclaim(self, pool: Pool) -> None:
        with SpotStore(self.path) as store:
            reclaim_capacity(store, QUIET, pool, self.runtime.now())

    def activities(self) -> list[str]:
        with Store(self.path) as store:
            return [a.description for a in store.activities("web")]


def test_without_capacity_rebalance_the_notice_then_the_stop_then_the_replacement(
    tmp_path: Path,
) -> None:
    shop = Shop(tmp_path / "db", capacity_rebalance=False)
    shop.tick()
    assert {i.lifecycle for i in shop.runtime.instances()} == {Lifecycle.SPOT}
    # lowest-price over one pool: both in the cheapest (t3.micro); reclaim it.
    pool = shop.pool_of_first()
    before = shop.ids()
    shop.reclaim(pool)
    shop.tick()
    warned = [d for d in shop.activities() if d.startswith("Spot interruption notice")]
    assert len(warned) == len(before)
    # Two AWS minutes of notice: still running, nothing replaced yet.
    shop.tick(119)
    assert shop.ids() == before
    shop.tick(1)  # the market stops them
    shop.tick()  # the group sees them gone and launches replacements elsewhere
    after = {i.instance_id: i for i in shop.runtime.instances()}
    assert len(after) == 2
    assert not set(after) & before
    assert all(Pool(i.instance_type or "", i.availability_zone) != pool for i in after.values())


def test_capacity_rebalance_launches_first_and_terminates_once_the_replacement_is_in(
    tmp_path: Path,
) -> None:
    shop = Shop(tmp_path / "db", capacity_rebalance=True)
    shop.tick()
    pool = shop.pool_of_first()
    before = shop.ids()
    shop.reclaim(pool)
    shop.tick()  # notices given; the group launches replacements, keeps the warned ones
    assert shop.ids() > before
    assert len(shop.ids()) == 4
    shop.tick(5)  # the replacements are healthy: the warned ones are terminated
    assert not shop.ids() & before
    assert len(shop.ids()) == 2
    descriptions = shop.activities()
    assert sum(d.startswith("Launching") for d in descriptions) == 4
    with Store(shop.path) as store:
        causes = [a.cause for a in store.activities("web")]
    assert sum("rebalance recommendation" in c for c in causes) == 4


@pytest.fixture
def metadata(tmp_path: Path) -> Iterator[tuple[TestClient, Shop]]:
    shop = Shop(tmp_path / "db", capacity_rebalance=False)
    shop.tick()
    context = ApiContext(shop.path, shop.runtime)
    app = Starlette(routes=routes(context, Tokens(wall=lambda: START)))
    with TestClient(app) as client:
        yield client, shop


def test_the_metadata_service_answers_the_notice_with_a_token(
    metadata: tuple[TestClient, Shop],
) -> None:
    client, shop = metadata
    instance = min(shop.runtime.instances(), key=lambda i: i.instance_id)
    base = f"/metadata/{instance.instance_id}/latest"
    token = client.put(
        f"{base}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"}
    ).text
    headers = {"X-aws-ec2-metadata-token": token}
    assert client.get(f"{base}/meta-data/spot/instance-action").status_code == 401
    assert client.get(f"{base}/meta-data/instance-life-cycle", headers=headers).text == "spot"
    assert client.get(f"{base}/meta-data/instance-id", headers=headers).text == instance.instance_id
    assert client.get(f"{base}/meta-data/spot/instance-action", headers=headers).status_code == 404
    lifecycle_state = client.get(
        f"{base}/meta-data/autoscaling/target-lifecycle-state", headers=headers
    )
    assert lifecycle_state.text == "InService"
    shop.reclaim(Pool(instance.instance_type or "", instance.availability_zone))
    shop.tick()
    action = client.get(f"{base}/meta-data/spot/instance-action", headers=headers)
    assert action.status_code == 200
    assert json.loads(action.text) == {"action": "terminate", "time": "2026-11-28T00:02:00Z"}
    # A token is one instance's: another's path refuses it.
    other = max(shop.runtime.instances(), key=lambda i: i.instance_id).instance_id
    refused = client.get(f"/metadata/{other}/latest/meta-data/instance-id", headers=headers)
    assert refused.status_code == 401
    bad_ttl = client.put(f"{base}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "0"})
    assert bad_ttl.status_code == 400
    assert (
        client.put(
            "/metadata/i-nobody/latest/api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        ).status_code
        == 404
    )


def test_capacity_rebalance_keeps_the_warned_instance_until_the_replacement_is_healthy(
    tmp_path: Path,
) -> None:
    # Instances start like a health-checked image's: starting until told healthy.
    shop = Shop(tmp_path / "db", capacity_rebalance=True, initial_health=Health.STARTING)
    shop.tick()
    before = shop.ids()
    for instance_id in before:
        shop.runtime.set_health(instance_id, Health.HEALTHY)
    shop.reclaim(shop.pool_of_first())
    shop.tick()
    replacements = shop.ids() - before
    assert len(replacements) == 2
    shop.tick(5)
    assert shop.ids() >= before, "kept while the replacements are still starting"
    for instance_id in replacements:
        shop.runtime.set_health(instance_id, Health.HEALTHY)
    shop.tick(5)
    assert shop.ids() == replacements
