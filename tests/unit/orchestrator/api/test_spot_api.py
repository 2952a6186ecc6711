"""DescribeSpotPriceHistory through the front door, as boto3 and the real ``aws`` CLI call
it, over the market a controller pass recorded; and the reclaim control on the JSON route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.spot.controller import SpotMarketController
from orchestrator.spot.model import MarketSettings, Pool, pool_state, step_of
from orchestrator.spot.store import SpotStore
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve

START = datetime(2026, 11, 28, 12, tzinfo=UTC)
ENVIRON = {"BARISTA_SPOT_SEED": "11", "BARISTA_SPOT_ZONES": "az-a,az-b"}


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(start=START.timestamp())


@pytest.fixture
def context(tmp_path: Path, runtime: FakeRuntime) -> ApiContext:
    return ApiContext(tmp_path / "barista.db", runtime, ENVIRON, CREDENTIALS)


@pytest.fixture
def endpoint(context: ApiContext) -> Iterator[Endpoint]:
    with serve(context) as served:
        yield served


def test_history_in_aws_shape_newest_first_with_the_price_in_force_at_start(
    endpoint: Endpoint,
) -> None:
    ec2 = endpoint.client("ec2")
    start = START - timedelta(hours=2)
    answer = ec2.describe_spot_price_history(
        StartTime=start,
        EndTime=START,
        InstanceTypes=["t3.micro"],
        AvailabilityZone="az-a",
        ProductDescriptions=["Linux/UNIX"],
    )
    history = answer["SpotPriceHistory"]
    assert history, "two hours of a seeded market have prices"
    assert {(h["InstanceType"], h["AvailabilityZone"]) for h in history} == {("t3.micro", "az-a")}
    assert {h["ProductDescription"] for h in history} == {"Linux/UNIX"}
    times = [h["Timestamp"] for h in history]
    assert times == sorted(times, reverse=True)
    # The oldest entry is the change in force at StartTime (at or before it); the rest inside.
    assert times[-1] <= start
    assert all(start <= t <= START for t in times[:-1])
    # Each price is the model's at its time (seed 11), as a string with six decimals.
    settings = MarketSettings.from_environ(ENVIRON)
    for entry in history:
        step = step_of(settings, entry["Timestamp"].timestamp())
        expected = pool_state(settings, Pool("t3.micro", "az-a"), step).price
        assert entry["SpotPrice"] == f"{expected:.6f}"


def test_paged_with_max_results_and_filters(endpoint: Endpoint) -> None:
    ec2 = endpoint.client("ec2")
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        StartTime=START - timedelta(hours=1),
        Filters=[{"Name": "instance-type", "Values": ["t3.small", "t3.large"]}],
        PaginationConfig={"PageSize": 5},
    )
    entries = [e for page in pages for e in page["SpotPriceHistory"]]
    assert {e["InstanceType"] for e in entries} == {"t3.small", "t3.large"}
    assert {e["AvailabilityZone"] for e in entries} == {"az-a", "az-b"}
    keys = [(e["Timestamp"], e["InstanceType"], e["AvailabilityZone"]) for e in entries]
    assert len(keys) == len(set(keys)), "no entry twice across pages"
    windows = ec2.describe_spot_price_history(ProductDescriptions=["Windows"])
    assert windows["SpotPriceHistory"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"InstanceTypes": ["m5.large"]}, "InvalidParameterValue"),
        ({"MaxResults": 5000}, "InvalidParameterValue"),
        ({"Filters": [{"Name": "spot-price", "Values": ["1"]}]}, "InvalidParameterValue"),
        ({"StartTime": START, "EndTime": START - timedelta(hours=1)}, "InvalidParameterValue"),
        ({"NextToken": "not-ours"}, "InvalidNextToken"),
    ],
)
def test_refusals_name_the_parameter(
    endpoint: Endpoint, params: dict[str, object], code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        endpoint.client("ec2").describe_spot_price_history(**params)
    assert refused.value.response["Error"]["Code"] == code


def test_the_aws_cli_reads_what_the_controller_recorded(
    endpoint: Endpoint, context: ApiContext, runtime: FakeRuntime
) -> None:
    market = SpotMarketController(context.store_path, runtime, MarketSettings.from_environ(ENVIRON))
    market.reconcile_once()
    with SpotStore(context.store_path) as store:
        store.reclaim(Pool("t3.medium", "az-b"), START.timestamp() + 600)
    runtime.advance(300)
    market.reconcile_once()  # the reclaimed pool now costs the On-Demand price
    done = endpoint.aws(
        "ec2",
        "describe-spot-price-history",
        "--instance-types",
        "t3.medium",
        "--availability-zone",
        "az-b",
        "--start-time",
        (START + timedelta(minutes=5)).isoformat(),
    )
    assert done.returncode == 0, done.stderr
    history = json.loads(done.stdout)["SpotPriceHistory"]
    assert history[0]["SpotPrice"] == "0.041600"  # t3.medium's On-Demand price, the cap
