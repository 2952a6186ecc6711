"""PutMetricData: history loaded over the API, one value per period, CloudWatch's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.api._requests import iso
from orchestrator.asg.store import Store
from tests.unit.orchestrator.api.conftest import START, Call, error_of

SERIES = "Barista/Shop/Orders/Counter=front"


def datum(**fields: object) -> dict:
    return {"MetricName": "Orders", "Dimensions": [{"Name": "Counter", "Value": "front"}]} | fields


def stored(store_path: Path) -> list[tuple[float, float]]:
    with Store(store_path) as store:
        return store.datapoints_between(SERIES, 0, START + 10 * 3600)


def test_values_land_in_their_period_and_a_later_put_replaces(cloudwatch: Call, store_path):
    cloudwatch(
        "PutMetricData",
        Namespace="Barista/Shop",
        MetricData=[
            datum(Value=4.0, Timestamp=iso(START - 3600 + 17)),
            datum(Values=[1.0, 5.0], Counts=[3.0, 1.0], Timestamp=iso(START - 60)),
            datum(
                StatisticValues={"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4},
                Timestamp=iso(START - 120),
            ),
            datum(Value=9.0, StorageResolution=1, Timestamp=iso(START - 3600 + 17)),
            datum(Value=7.0),  # no Timestamp: now
        ],
    )
    assert stored(store_path) == [
        (START - 3600, 4.0),
        (START - 3600 + 17, 9.0),
        (START - 120, 2.5),
        (START - 60, 2.0),
        (START, 7.0),
    ]
    cloudwatch(
        "PutMetricData",
        Namespace="Barista/Shop",
        MetricData=[datum(Value=6.0, Timestamp=iso(START - 3600 + 30))],
    )
    assert stored(store_path)[0] == (START - 3600, 6.0)


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        (
            {"Value": 1.0, "Timestamp": iso(START - 15 * 86400)},
            "InvalidParameterValue",
            "two weeks",
        ),
        ({"Value": 1.0, "Timestamp": iso(START + 3 * 3600)}, "InvalidParameterValue", "two hours"),
        ({"Value": 1.0, "Values": [1.0]}, "InvalidParameterCombination", "mutually exclusive"),
        ({}, "InvalidParameterCombination", "one of them is required"),
        ({"Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue", "same length"),
        ({"Value": 1.0, "StorageResolution": 5}, "ValidationError", "storageResolution"),
    ],
)
def test_refusals(cloudwatch: Call, fields: dict, code: str, message: str):
    body = cloudwatch(
        "PutMetricData", expect=400, Namespace="Barista/Shop", MetricData=[datum(**fields)]
    )
    assert error_of(body)[0] == code
    assert message in error_of(body)[1]
