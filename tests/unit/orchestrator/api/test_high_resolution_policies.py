"""High-resolution target tracking through PutScalingPolicy: a customized metric's Period
(10, 30 or 60 seconds, as EC2 Auto Scaling accepts) is stored, described and given to the
policy's two alarms."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.asg.store import Store
from orchestrator.scaling.metrics import QueueBacklogMetric, metric_from_document
from orchestrator.scaling.metrics import metric_to_document as to_document
from orchestrator.scaling.policy import TargetTrackingPolicy
from tests.unit.orchestrator.api.conftest import Call, error_of
from tests.unit.orchestrator.api.test_policies_and_schedules import backlog_math, queue_metric


def put_backlog(autoscaling: Call, group: str, spec: dict, expect: int = 200) -> dict:
    return autoscaling(
        "PutScalingPolicy",
        expect=expect,
        AutoScalingGroupName=group,
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"CustomizedMetricSpecification": spec, "TargetValue": 10},
    )


def stored_metric(store_path: Path):
    with Store(store_path) as store:
        (policy,) = store.policies()
    assert isinstance(policy.definition, TargetTrackingPolicy)
    return policy.definition.metric


def test_period_10_on_a_single_metric_is_stored_described_and_alarmed_at_10_s(
    autoscaling: Call, cloudwatch: Call, group: str, store_path: Path
):
    put_backlog(autoscaling, group, queue_metric() | {"Statistic": "Sum", "Period": 10})
    assert stored_metric(store_path) == QueueBacklogMetric("orders", 10)
    (described,) = autoscaling("DescribePolicies")["ScalingPolicies"]
    assert (
        described["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]["Metrics"][0][
            "MetricStat"
        ]["Period"]
        == 10
    )
    alarms = cloudwatch("DescribeAlarms")["MetricAlarms"]
    assert sorted((a["Period"], a["EvaluationPeriods"]) for a in alarms) == [(10, 3), (10, 15)]


def test_period_30_in_metric_math(autoscaling: Call, group: str, store_path: Path):
    spec = backlog_math(group)
    for query in spec["Metrics"][:2]:
        query["MetricStat"]["Period"] = 30
    put_backlog(autoscaling, group, spec)
    assert stored_metric(store_path) == QueueBacklogMetric("orders", 30)


@pytest.mark.parametrize(
    ("period", "message"),
    [(20, "must be 10, 30 or 60"), (120, "greater than 60 isn't supported")],
)
def test_other_periods_are_refused(autoscaling: Call, group: str, period: int, message: str):
    body = put_backlog(
        autoscaling, group, queue_metric() | {"Statistic": "Sum", "Period": period}, expect=400
    )
    assert message in error_of(body)[1]


def test_metric_math_with_two_periods_is_refused(autoscaling: Call, group: str):
    spec = backlog_math(group)
    spec["Metrics"][0]["MetricStat"]["Period"] = 10
    spec["Metrics"][1]["MetricStat"]["Period"] = 60
    body = put_backlog(autoscaling, group, spec, expect=400)
    assert "share one Period" in error_of(body)[1]


def test_a_high_resolution_series_stays_apart_from_the_minute_series():
    minute, fast = QueueBacklogMetric("orders"), QueueBacklogMetric("orders", 10)
    assert fast.key == minute.key + "/Period=10"
    assert metric_from_document(to_document(fast)) == fast
    assert to_document(minute) == {"kind": "queue_backlog", "queue_name": "orders"}
