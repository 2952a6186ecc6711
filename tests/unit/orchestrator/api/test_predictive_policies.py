"""PutScalingPolicy PolicyType=PredictiveScaling: AWS's shape in, DescribePolicies out, and
the refusals that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.asg.store import Store
from orchestrator.scaling.metrics import CpuUtilizationMetric, QueueBacklogMetric
from orchestrator.scaling.predictive import (
    MaxCapacityBreachBehavior,
    PredictiveScalingConfiguration,
    PredictiveScalingMode,
)
from tests.unit.orchestrator.api.conftest import Call, error_of


def orders_backlog_spec(group: str, target: float = 10.0) -> dict:
    """The coffee shop's policy: forecast the orders queue, 10 messages per barista."""
    return {
        "TargetValue": target,
        "CustomizedLoadMetricSpecification": {
            "MetricDataQueries": [
                {
                    "Id": "load",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SQS",
                            "MetricName": "ApproximateNumberOfMessagesVisible",
                            "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
                        },
                        "Stat": "Average",
                    },
                }
            ]
        },
        "CustomizedScalingMetricSpecification": {
            "MetricDataQueries": [
                {
                    "Id": "scaling",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "Barista",
                            "MetricName": "BacklogPerInstance",
                            "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}],
                        },
                        "Stat": "Average",
                    },
                }
            ]
        },
    }


def stored(store_path: Path, name: str) -> PredictiveScalingConfiguration:
    with Store(store_path) as store:
        (policy,) = [p for p in store.policies() if p.policy_name == name]
    assert isinstance(policy.definition, PredictiveScalingConfiguration)
    return policy.definition


def put(autoscaling: Call, group: str, expect: int = 200, **configuration: object) -> dict:
    return autoscaling(
        "PutScalingPolicy",
        expect=expect,
        AutoScalingGroupName=group,
        PolicyName="rush",
        PolicyType="PredictiveScaling",
        PredictiveScalingConfiguration=configuration,
    )


def test_cpu_pair_defaults_to_forecast_only_and_describes_in_aws_shape(
    autoscaling: Call, group: str, store_path: Path
):
    spec = {
        "TargetValue": 40.0,
        "PredefinedMetricPairSpecification": {"PredefinedMetricType": "ASGCPUUtilization"},
    }
    response = put(autoscaling, group, MetricSpecifications=[spec])
    assert response["PolicyARN"].endswith(":autoScalingGroupName/baristas:policyName/rush")
    config = stored(store_path, "rush")
    assert config.mode is PredictiveScalingMode.FORECAST_ONLY
    assert config.sampled == CpuUtilizationMetric(group)
    assert config.load_series.endswith("AutoScalingGroupName=baristas/Total")
    (described,) = autoscaling("DescribePolicies", PolicyTypes=["PredictiveScaling"])[
        "ScalingPolicies"
    ]
    assert described["PolicyType"] == "PredictiveScaling"
    assert described["PredictiveScalingConfiguration"] == {
        "MetricSpecifications": [spec],
        "Mode": "ForecastOnly",
        "SchedulingBufferTime": 300,
        "MaxCapacityBreachBehavior": "HonorMaxCapacity",
    }
    assert described["Alarms"] == []


def test_the_orders_queue_as_a_customized_load_metric(
    autoscaling: Call, group: str, store_path: Path
):
    put(
        autoscaling,
        group,
        MetricSpecifications=[orders_backlog_spec(group)],
        Mode="ForecastAndScale",
        SchedulingBufferTime=600,
        MaxCapacityBreachBehavior="IncreaseMaxCapacity",
        MaxCapacityBuffer=10,
    )
    config = stored(store_path, "rush")
    assert config.sampled == QueueBacklogMetric("orders")
    assert config.load_series == QueueBacklogMetric("orders").key
    assert config.mode is PredictiveScalingMode.FORECAST_AND_SCALE
    assert config.scheduling_buffer_time == 600
    assert config.max_capacity_breach_behavior is MaxCapacityBreachBehavior.INCREASE_MAX_CAPACITY
    assert config.max_capacity_buffer == 10
    (described,) = autoscaling("DescribePolicies", PolicyNames=["rush"])["ScalingPolicies"]
    assert described["PredictiveScalingConfiguration"]["MaxCapacityBuffer"] == 10
    queries = described["PredictiveScalingConfiguration"]["MetricSpecifications"][0][
        "CustomizedLoadMetricSpecification"
    ]["MetricDataQueries"]
    assert queries[0]["MetricStat"]["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"


def test_alb_request_count_reads_the_target_group_from_the_resource_label(
    autoscaling: Call, group: str, store_path: Path
):
    label = "app/shop/50dc6c495c0c9188/targetgroup/counters/943f017f100becff"
    put(
        autoscaling,
        group,
        MetricSpecifications=[
            {
                "TargetValue": 1000,
                "PredefinedMetricPairSpecification": {
                    "PredefinedMetricType": "ALBRequestCount",
                    "ResourceLabel": label,
                },
            }
        ],
    )
    config = stored(store_path, "rush")
    assert config.load_series == (
        "AWS/ApplicationELB/RequestCount/TargetGroup=targetgroup/counters/943f017f100becff"
    )
    assert config.sampled is None


@pytest.mark.parametrize(
    ("configuration", "names"),
    [
        ({"MetricSpecifications": []}, "exactly one metric specification"),
        (
            {
                "MetricSpecifications": [
                    {
                        "TargetValue": 40,
                        "PredefinedMetricPairSpecification": {
                            "PredefinedMetricType": "ASGNetworkIn"
                        },
                    }
                ]
            },
            "ASGNetworkIn is not supported",
        ),
        (
            {
                "MetricSpecifications": [
                    {
                        "TargetValue": 40,
                        "PredefinedLoadMetricSpecification": {
                            "PredefinedMetricType": "ASGTotalCPUUtilization"
                        },
                    }
                ]
            },
            "one scaling metric",
        ),
        (
            {
                "MetricSpecifications": [
                    {
                        "TargetValue": 1000,
                        "PredefinedMetricPairSpecification": {
                            "PredefinedMetricType": "ALBRequestCount"
                        },
                    }
                ]
            },
            "ResourceLabel is required",
        ),
        ({"Mode": "ForecastAndScale"}, "metricSpecifications"),
        ({"Mode": "Sometimes"}, "enum value set"),
        ({"MaxCapacityBreachBehavior": "IncreaseMaxCapacity"}, "MaxCapacityBuffer is required"),
        ({"MaxCapacityBuffer": 10}, "MaxCapacityBuffer can only be set"),
        (
            {"MaxCapacityBreachBehavior": "IncreaseMaxCapacity", "MaxCapacityBuffer": 101},
            "less than or equal to 100",
        ),
        ({"SchedulingBufferTime": 3600}, "SchedulingBufferTime must be less than"),
    ],
)
def test_refusals_name_the_field(autoscaling: Call, group: str, configuration: dict, names: str):
    cpu = {
        "TargetValue": 40,
        "PredefinedMetricPairSpecification": {"PredefinedMetricType": "ASGCPUUtilization"},
    }
    if "MetricSpecifications" not in configuration and configuration.get("Mode") != (
        "ForecastAndScale"
    ):
        configuration = {"MetricSpecifications": [cpu], **configuration}
    code, message = error_of(put(autoscaling, group, expect=400, **configuration))
    assert code == "ValidationError"
    assert names in message


def test_predictive_configuration_on_another_policy_type_is_refused(autoscaling: Call, group: str):
    body = autoscaling(
        "PutScalingPolicy",
        expect=400,
        AutoScalingGroupName=group,
        PolicyName="x",
        PolicyType="TargetTrackingScaling",
        PredictiveScalingConfiguration={"MetricSpecifications": []},
    )
    assert "PredictiveScalingConfiguration not supported for policy type" in error_of(body)[1]
