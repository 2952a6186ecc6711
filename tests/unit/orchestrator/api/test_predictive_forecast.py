"""GetPredictiveScalingForecast through boto3 over real HTTP: the forecast the controller made
from seeded history, in AWS's shape, and the refusals.

The clock: AWS time 2026-12-01 00:00:30 UTC, after three days of the orders queue's seeded
history (``orchestrator.scaling.history``, from 2026-11-28 00:00).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.asg.scaling_controller import ScalingController
from orchestrator.asg.store import Store
from orchestrator.monitoring import RETENTION, MetricsSampler
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling.history import DAY, seeded_history
from orchestrator.scaling.metrics import QueueBacklogMetric
from tests.support.aws_endpoint import CREDENTIALS, serve
from tests.unit.orchestrator.api.test_predictive_policies import orders_backlog_spec

HISTORY_START = float(calendar.timegm((2026, 11, 28, 0, 0, 0)))
NOW = HISTORY_START + 3 * DAY + 30


@pytest.fixture
def context(tmp_path: Path) -> ApiContext:
    return ApiContext(tmp_path / "barista.db", FakeRuntime(start=NOW), credentials=CREDENTIALS)


@pytest.fixture
def autoscaling(context: ApiContext) -> Iterator[Any]:
    with serve(context) as endpoint:
        ec2, client = endpoint.client("ec2"), endpoint.client("autoscaling")
        ec2.create_launch_template(
            LaunchTemplateName="baristas",
            LaunchTemplateData={"ImageId": "barista/service:latest", "InstanceType": "t3.micro"},
        )
        client.create_auto_scaling_group(
            AutoScalingGroupName="baristas",
            LaunchTemplate={"LaunchTemplateName": "baristas"},
            MinSize=1,
            MaxSize=20,
            AvailabilityZones=["az-a"],
        )
        yield client


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_forecast_made_from_seeded_history_in_aws_shape(autoscaling, context):
    autoscaling.put_scaling_policy(
        AutoScalingGroupName="baristas",
        PolicyName="rush",
        PolicyType="PredictiveScaling",
        PredictiveScalingConfiguration={"MetricSpecifications": [orders_backlog_spec("baristas")]},
    )
    with Store(context.store_path) as store:
        store.record_datapoints(
            QueueBacklogMetric("orders").key,
            seeded_history(HISTORY_START, NOW - 30),
            keep=RETENTION,
            now=NOW,
        )
        sampler = MetricsSampler(store, context.runtime, lambda queue: 0)
        ScalingController(store, context.runtime, sampler).evaluate_once()
        sampler.close()
    answer = autoscaling.get_predictive_scaling_forecast(
        AutoScalingGroupName="baristas",
        PolicyName="rush",
        StartTime=at(NOW - 30),
        EndTime=at(NOW - 30 + DAY),
    )
    (load,) = answer["LoadForecast"]
    assert len(load["Timestamps"]) == len(load["Values"]) == 24
    assert load["Timestamps"][0] == at(NOW - 30)
    assert load["MetricSpecification"]["TargetValue"] == 10.0
    capacity = answer["CapacityForecast"]
    assert capacity["Timestamps"] == load["Timestamps"]
    assert capacity["Values"][8] > capacity["Values"][3]  # the 08:00 rush over the night
    assert answer["UpdateTime"] == at(NOW)
    (described,) = autoscaling.describe_policies(PolicyTypes=["PredictiveScaling"])[
        "ScalingPolicies"
    ]
    assert described["PredictiveScalingConfiguration"]["Mode"] == "ForecastOnly"


@pytest.mark.parametrize(
    ("policy", "start", "end", "message"),
    [
        ("nothing", NOW, NOW + DAY, "No predictive scaling policy nothing"),
        ("rush", NOW + DAY, NOW, "StartTime must be before the EndTime"),
        ("rush", NOW, NOW + 31 * DAY, "can't exceed 30 days"),
    ],
)
def test_refusals(autoscaling, policy: str, start: float, end: float, message: str):
    autoscaling.put_scaling_policy(
        AutoScalingGroupName="baristas",
        PolicyName="rush",
        PolicyType="PredictiveScaling",
        PredictiveScalingConfiguration={"MetricSpecifications": [orders_backlog_spec("baristas")]},
    )
    with pytest.raises(ClientError) as refused:
        autoscaling.get_predictive_scaling_forecast(
            AutoScalingGroupName="baristas",
            PolicyName=policy,
            StartTime=at(start),
            EndTime=at(end),
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert message in refused.value.response["Error"]["Message"]
