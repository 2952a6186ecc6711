"""Every describe and list action AWS's models paginate pages the way AWS's do, proved with
boto3's own paginators over real HTTP: one item a page, each item exactly once, in the order an
unpaged call gives; a tampered token and an out-of-range page size are refused with each
service's own error code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from orchestrator.api import ApiContext
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.scaling.activity import Activity, ActivityStatusCode
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve

START = datetime(2026, 11, 28).timestamp()
CONTAINERS = [{"name": "api", "image": "barista/service:latest", "memory": 128}]
TEMPLATE_DATA = {"ImageId": "barista/service:latest", "InstanceType": "t3.micro"}
TARGET = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}
FIXED_RESPONSE = [
    {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}},
]

# A setup makes 3+ items for each listing of its service, and answers the arguments that name
# what it made (a listener's ARN…), by boto3 method name.
Setup = Callable[[Endpoint, Path], dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Refusals:
    """A service's error codes for a token it did not give out and a size out of range."""

    bad_token: str
    bad_size: tuple[int, str]  # (a page size out of range, the code)


@dataclass(frozen=True)
class Listing:
    service: str
    operation: str  # boto3's method name, which is also the paginator's
    identity: Callable[[Any], Any] = lambda item: item
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.service}:{self.operation}" + (f"({extra})" if extra else "")


def _ecs(endpoint: Endpoint, store_path: Path) -> dict[str, dict[str, Any]]:
    ecs = endpoint.client("ecs")
    for name in ("alpha", "bravo", "charlie"):
        ecs.create_cluster(clusterName=name)
    for family in ("orders", "counter", "payments", "counter"):
        ecs.register_task_definition(family=family, containerDefinitions=CONTAINERS)
    for name in ("web", "worker", "api"):
        ecs.create_service(
            cluster="alpha",
            serviceName=name,
            taskDefinition="counter",
            desiredCount=0,
            launchType="EC2",
        )
    ecs.run_task(cluster="alpha", taskDefinition="orders", count=3, launchType="EC2")
    for zone in ("az-a", "az-b", "az-c"):
        ecs.register_container_instance(
            cluster="alpha",
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048},
            ],
            attributes=[{"name": "ecs.availability-zone", "value": zone}],
        )
    return {}


def _elbv2(endpoint: Endpoint, store_path: Path) -> dict[str, dict[str, Any]]:
    elbv2 = endpoint.client("elbv2")
    balancers = [
        elbv2.create_load_balancer(Name=name)["LoadBalancers"][0]["LoadBalancerArn"]
        for name in ("shop", "admin", "api")
    ]
    for name, port in (("counters", 8080), ("orders", 8081), ("payments", 8082)):
        elbv2.create_target_group(Name=name, Protocol="HTTP", Port=port, TargetType="ip")
    listeners = [
        elbv2.create_listener(
            LoadBalancerArn=balancers[0],
            Protocol="HTTP",
            Port=port,
            DefaultActions=FIXED_RESPONSE,
        )["Listeners"][0]["ListenerArn"]
        for port in (9082, 9080, 9081)
    ]
    for priority, path in ((30, "/c*"), (10, "/a*"), (20, "/b*")):
        elbv2.create_rule(
            ListenerArn=listeners[0],
            Priority=priority,
            Conditions=[{"Field": "path-pattern", "Values": [path]}],
            Actions=FIXED_RESPONSE,
        )
    return {
        "describe_listeners": {"LoadBalancerArn": balancers[0]},
        "describe_rules": {"ListenerArn": listeners[0]},
    }


def _ec2(endpoint: Endpoint, store_path: Path) -> dict[str, dict[str, Any]]:
    ec2 = endpoint.client("ec2")
    for name in ("orders", "counter", "payments"):
        ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=TEMPLATE_DATA)
    for _ in range(2):
        ec2.create_launch_template_version(
            LaunchTemplateName="counter", LaunchTemplateData=TEMPLATE_DATA
        )
    return {}


def _cloudwatch(endpoint: Endpoint, store_path: Path) -> dict[str, dict[str, Any]]:
    cloudwatch = endpoint.client("cloudwatch")
    for name in ("orders-high", "backlog-low", "payments-high"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": name.split("-")[0]}],
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=10.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    return {}


def _application_autoscaling(endpoint: Endpoint, store_path: Path) -> dict[str, dict[str, Any]]:
    _ecs(endpoint, store_path)
    scaling = endpoint.client("application-autoscaling")
    for name in ("web", "worker", "api"):
        scaling.register_scalable_target(
            **TARGET, ResourceId=f"service/alpha/{name}", MinCapacity=0, MaxCapacity=4
        )
    for name in ("cpu", "requests-fast", "cpu-slow"):
        scaling.put_scaling_policy(
            **TARGET,
            ResourceId="service/alpha/web",
            PolicyName=name,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 60.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
            },
        )
    with EcsStore(store_path) as store:
        for index, offset in enumerate((60.0, 0.0, 60.0, 120.0)):  # two at the same moment
            store.record_scaling_activity(
                Activity(
                    activity_id=f"activity-{index}",
                    resource_id="service/alpha/web",
                    description=f"Setting desired count to {index}.",
                    cause="monitor alarm",
                    start_time=START + offset,
                    status_code=ActivityStatusCode.SUCCESSFUL,
                )
            )
    return {}


SETUPS: dict[str, Setup] = {
    "ecs": _ecs,
    "elbv2": _elbv2,
    "ec2": _ec2,
    "cloudwatch": _cloudwatch,
    "application-autoscaling": _application_autoscaling,
}

REFUSALS = {
    "ecs": Refusals("InvalidParameterException", (101, "InvalidParameterException")),
    "elbv2": Refusals("ValidationError", (401, "ValidationError")),
    "ec2": Refusals("InvalidNextToken", (201, "InvalidParameterValue")),
    "cloudwatch": Refusals("InvalidNextToken", (101, "ValidationError")),
    "application-autoscaling": Refusals("InvalidNextTokenException", (51, "ValidationException")),
}

LISTINGS = [
    Listing("ecs", "list_clusters"),
    Listing("ecs", "list_services", kwargs={"cluster": "alpha"}),
    Listing("ecs", "list_tasks", kwargs={"cluster": "alpha"}),
    Listing("ecs", "list_task_definitions"),
    Listing("ecs", "list_task_definitions", kwargs={"sort": "DESC"}),
    Listing("ecs", "list_task_definition_families"),
    Listing("ecs", "list_container_instances", kwargs={"cluster": "alpha"}),
    Listing("elbv2", "describe_load_balancers", lambda i: i["LoadBalancerArn"]),
    Listing("elbv2", "describe_target_groups", lambda i: i["TargetGroupArn"]),
    Listing("elbv2", "describe_listeners", lambda i: i["ListenerArn"]),
    Listing("elbv2", "describe_rules", lambda i: i["RuleArn"]),
    Listing("ec2", "describe_launch_templates", lambda i: i["LaunchTemplateId"]),
    Listing(
        "ec2",
        "describe_launch_template_versions",
        lambda i: (i["LaunchTemplateId"], i["VersionNumber"]),
        kwargs={"LaunchTemplateName": "counter"},
    ),
    Listing(
        "ec2",
        "describe_launch_template_versions",
        lambda i: (i["LaunchTemplateId"], i["VersionNumber"]),
    ),
    Listing("cloudwatch", "describe_alarms", lambda i: i["AlarmName"]),
    Listing(
        "application-autoscaling",
        "describe_scalable_targets",
        lambda i: i["ResourceId"],
        kwargs={"ServiceNamespace": "ecs"},
    ),
    Listing(
        "application-autoscaling",
        "describe_scaling_policies",
        lambda i: i["PolicyARN"],
        kwargs={"ServiceNamespace": "ecs"},
    ),
    Listing(
        "application-autoscaling",
        "describe_scaling_activities",
        lambda i: i["ActivityId"],
        kwargs={"ServiceNamespace": "ecs"},
    ),
]


@dataclass(frozen=True)
class Paginator:
    """What botocore's paginator model says of an action: its members and result key."""

    input_token: str
    output_token: str
    limit_key: str
    result_key: str

    @classmethod
    def of(cls, client: Any, operation: str) -> Paginator:
        name = client.meta.method_to_api_mapping[operation]
        model = botocore.session.get_session().get_paginator_model(
            client.meta.service_model.service_name
        )
        config = model.get_paginator(name)
        result = config["result_key"]
        return cls(
            config["input_token"],
            config["output_token"],
            config["limit_key"],
            result[0] if isinstance(result, list) else result,
        )


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(start=START), credentials=CREDENTIALS)
    with serve(context) as served:
        yield served


def _ready(endpoint: Endpoint, listing: Listing, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """The listing's client and arguments, once its service has 3+ items to list."""
    made = SETUPS[listing.service](endpoint, tmp_path / "barista.db")
    kwargs = {**listing.kwargs, **made.get(listing.operation, {})}
    return endpoint.client(listing.service), kwargs


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda listing: listing.id)
def test_boto3s_paginator_gets_every_item_once_in_order(
    endpoint: Endpoint, listing: Listing, tmp_path: Path
) -> None:
    client, kwargs = _ready(endpoint, listing, tmp_path)
    paginator = Paginator.of(client, listing.operation)
    unpaged = getattr(client, listing.operation)(**kwargs)
    assert paginator.output_token not in unpaged, "AWS's default page holds all of these"
    everything = [listing.identity(i) for i in unpaged[paginator.result_key]]
    assert len(everything) >= 3

    pages = list(
        client.get_paginator(listing.operation).paginate(**kwargs, PaginationConfig={"PageSize": 1})
    )

    assert [len(p[paginator.result_key]) for p in pages] == [1] * len(everything)
    paged = [listing.identity(i) for p in pages for i in p[paginator.result_key]]
    assert paged == everything
    assert len(set(paged)) == len(paged)


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda listing: listing.id)
def test_a_tampered_token_is_refused_with_the_services_code(
    endpoint: Endpoint, listing: Listing, tmp_path: Path
) -> None:
    client, kwargs = _ready(endpoint, listing, tmp_path)
    paginator = Paginator.of(client, listing.operation)
    call = getattr(client, listing.operation)
    token = call(**kwargs, **{paginator.limit_key: 1})[paginator.output_token]
    middle = len(token) // 2
    tampered = token[:middle] + ("B" if token[middle] == "A" else "A") + token[middle + 1 :]

    for bad in (tampered, token[:-3], "not-a-token"):
        with pytest.raises(ClientError) as refused:
            call(**kwargs, **{paginator.input_token: bad})
        assert refused.value.response["Error"]["Code"] == REFUSALS[listing.service].bad_token


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda listing: listing.id)
def test_a_page_size_out_of_range_is_refused_with_the_services_code(
    endpoint: Endpoint, listing: Listing, tmp_path: Path
) -> None:
    client, kwargs = _ready(endpoint, listing, tmp_path)
    paginator = Paginator.of(client, listing.operation)
    size, code = REFUSALS[listing.service].bad_size
    if listing.operation == "describe_scaling_policies":
        size = 11  # its pages hold at most 10

    with pytest.raises(ClientError) as refused:
        getattr(client, listing.operation)(**kwargs, **{paginator.limit_key: size})

    assert refused.value.response["Error"]["Code"] == code


def test_a_token_resumes_after_its_item_when_items_come_and_go(endpoint: Endpoint) -> None:
    ecs = endpoint.client("ecs")
    for name in ("alpha", "bravo", "charlie"):
        ecs.create_cluster(clusterName=name)
    first = ecs.list_clusters(maxResults=2)
    ecs.create_cluster(clusterName="aardvark")  # sorts before the token: not on later pages
    ecs.delete_cluster(cluster="charlie")
    ecs.create_cluster(clusterName="delta")

    rest = ecs.list_clusters(nextToken=first["nextToken"])

    names = [arn.rsplit("/", 1)[-1] for arn in first["clusterArns"] + rest["clusterArns"]]
    assert names == ["alpha", "bravo", "delta"]
    assert "nextToken" not in rest


def test_a_token_belongs_to_its_own_listing(endpoint: Endpoint, tmp_path: Path) -> None:
    _ecs(endpoint, tmp_path / "barista.db")
    ecs = endpoint.client("ecs")
    token = ecs.list_clusters(maxResults=1)["nextToken"]

    with pytest.raises(ClientError) as refused:
        ecs.list_task_definition_families(nextToken=token)

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_list_services_pages_by_ten_unless_asked(endpoint: Endpoint) -> None:
    ecs = endpoint.client("ecs")
    ecs.create_cluster(clusterName="alpha")
    ecs.register_task_definition(family="counter", containerDefinitions=CONTAINERS)
    for index in range(11):
        ecs.create_service(
            cluster="alpha",
            serviceName=f"service-{index:02d}",
            taskDefinition="counter",
            desiredCount=0,
            launchType="EC2",
        )

    first = ecs.list_services(cluster="alpha")

    assert len(first["serviceArns"]) == 10
    rest = ecs.list_services(cluster="alpha", nextToken=first["nextToken"])
    assert [arn.rsplit("/", 1)[-1] for arn in rest["serviceArns"]] == ["service-10"]
