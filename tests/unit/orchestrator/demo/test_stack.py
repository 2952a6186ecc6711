"""The demo's declarative stack: variables from the environment over .env, and applying it
through the real API (a fake runtime) twice creates everything once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.api import ApiContext
from orchestrator.cli._aws_sdk import AwsSdkCaller
from orchestrator.cli._client import UsageError
from orchestrator.client import ServiceError
from orchestrator.demo import STACK_FILE
from orchestrator.demo.environment import (
    DemoSettingError,
    broker_url,
    demo_environ,
    read_env_file,
    variables,
)
from orchestrator.demo.ready import readiness, services_running
from orchestrator.demo.stack import (
    Result,
    StackError,
    Step,
    apply,
    group_names,
    load,
    service_names,
)
from orchestrator.launch_templates import decode_user_data
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import ACCESS_KEY
from tests.support.aws_endpoint import CREDENTIALS as KEYS
from tests.support.aws_endpoint import serve

CREDENTIALS = {
    "KAFKA_USER": "k",
    "KAFKA_PASSWORD": "kp",
    "RABBITMQ_USER": "r",
    "RABBITMQ_PASSWORD": "p@ss/word",
    "REDIS_USER": "d",
    "REDIS_PASSWORD": "dp",
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[AwsSdkCaller]:
    """The demo's own botocore caller against the real API over HTTP (a fake runtime)."""
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(start=0.0), credentials=KEYS)
    with serve(context) as endpoint:
        yield AwsSdkCaller(endpoint.url, ACCESS_KEY)


def served(api: AwsSdkCaller, steps: list[Step]) -> list[Step]:
    """The steps whose action this orchestrator serves (an action still being built is not)."""
    known = []
    for step in steps:
        try:
            api.call(step.service, step.action, {})
        except ServiceError as error:
            if error.code == "NotImplemented":
                continue
        except UsageError:
            pass  # botocore refused the empty request: the action exists
        known.append(step)
    return known


def test_env_file_values_yield_to_the_environment(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nBACKEND=kafka\nREDIS_USER='quoted'\n\nBROKEN LINE\n")
    assert read_env_file(env_file) == {"BACKEND": "kafka", "REDIS_USER": "quoted"}
    assert demo_environ({"BACKEND": "redis"}, env_file)["BACKEND"] == "redis"
    assert demo_environ({}, tmp_path / "missing") == {}


@pytest.mark.parametrize(
    ("backend", "url"),
    [
        ("kafka", "kafka://k:kp@kafka:19092"),
        ("rabbitmq", "amqp://r:p%40ss%2Fword@rabbitmq:5672?management_port=15672"),
        ("redis", "redis://d:dp@redis:6379"),
    ],
)
def test_the_broker_url_follows_backend_with_its_credentials_quoted(backend: str, url: str):
    assert broker_url({**CREDENTIALS, "BACKEND": backend}) == url


def test_kafka_queues_go_on_share_groups_when_kafka_queue_mode_says_so():
    environ = {**CREDENTIALS, "BACKEND": "kafka", "KAFKA_QUEUE_MODE": "share-group"}
    assert broker_url(environ) == "kafka://k:kp@kafka:19092?queue_mode=share-group"
    environ["KAFKA_QUEUE_MODE"] = "consumer-group"
    assert broker_url(environ) == "kafka://k:kp@kafka:19092"
    with pytest.raises(DemoSettingError, match="KAFKA_QUEUE_MODE=share"):
        broker_url({**environ, "KAFKA_QUEUE_MODE": "share"})


def test_a_missing_credential_or_unknown_backend_is_named():
    with pytest.raises(DemoSettingError, match="RABBITMQ_PASSWORD"):
        broker_url({"RABBITMQ_USER": "r"})
    with pytest.raises(DemoSettingError, match="BACKEND=sqs"):
        broker_url({**CREDENTIALS, "BACKEND": "sqs"})


def test_the_network_follows_the_compose_project():
    assert variables({**CREDENTIALS, "COMPOSE_PROJECT_NAME": "e2e-1"})["NETWORK"] == "e2e-1_default"
    assert variables(CREDENTIALS)["NETWORK"] == "barista_default"


def test_the_demo_stack_applies_once_and_again_changes_nothing(api: AwsSdkCaller):
    steps = served(api, load(STACK_FILE, variables(CREDENTIALS)))
    first = apply(api, steps)

    def creates(step: Step) -> bool:
        # Application Auto Scaling's Register/Put update in place: done, not created.
        return step.service != "application-autoscaling" and step.action.startswith(
            ("Create", "Put", "Register")
        )

    assert [o.result for o in first if creates(o.step)] == [Result.CREATED] * sum(
        1 for s in steps if creates(s)
    )
    template = api.call("ec2", "DescribeLaunchTemplates", {"LaunchTemplateNames": ["barista"]})
    data = api.call("ec2", "DescribeLaunchTemplateVersions", {"LaunchTemplateName": "barista"})[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    container = decode_user_data(data["UserData"])
    assert container["Network"] == "barista_default"
    assert container["Environment"]["BARISTA_BROKER_URL"].startswith("amqp://")
    assert "p@ss" not in container["Environment"]["BARISTA_BROKER_URL"], "secrets are masked"

    again = apply(api, steps)
    assert {o.result for o in again} <= {Result.EXISTS, Result.DONE}
    assert [o.drift for o in again if o.drift] == [], "the same file finds nothing changed"
    arns = {o.step.id: o.resource for o in again if o.step.id and o.resource}
    assert arns["counters"]["TargetGroupArn"] == next(
        o.resource["TargetGroupArn"] for o in first if o.step.id == "counters" and o.resource
    ), "the existing target group is found, so later steps get its ARN"
    after = api.call("ec2", "DescribeLaunchTemplates", {"LaunchTemplateNames": ["barista"]})
    assert after == template, "no new launch template version"
    alb = next(o.resource for o in first if o.step.id == "alb" and o.resource)
    assert alb is not None
    listeners = api.call("elbv2", "DescribeListeners", {"LoadBalancerArn": alb["LoadBalancerArn"]})[
        "Listeners"
    ]
    assert len(listeners) == 1
    assert group_names(steps) == ["baristas"]
    assert service_names(steps) == [("coffee-shop", "order-api")]
    definition = api.call("ecs", "DescribeTaskDefinition", {"taskDefinition": "order-api"})
    assert definition["taskDefinition"]["revision"] == 1, "applying again registers no revision"


def test_the_counters_are_an_ecs_service_behind_the_alb_scaled_on_requests_per_target(
    api: AwsSdkCaller,
):
    outcomes = apply(api, served(api, load(STACK_FILE, variables(CREDENTIALS))))
    resources = {o.step.id: o.resource for o in outcomes if o.step.id}
    target_group = resources["counters"]
    alb = resources["alb"]
    assert target_group is not None
    assert alb is not None
    (service,) = api.call(
        "ecs", "DescribeServices", {"cluster": "coffee-shop", "services": ["order-api"]}
    )["services"]
    assert service["launchType"] == "FARGATE"
    assert service["desiredCount"] == 2
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": target_group["TargetGroupArn"],
            "containerName": "order-api",
            "containerPort": 8080,
        }
    ]
    breaker = service["deploymentConfiguration"]["deploymentCircuitBreaker"]
    assert breaker == {"enable": True, "rollback": True}
    container = api.call("ecs", "DescribeTaskDefinition", {"taskDefinition": "order-api"})[
        "taskDefinition"
    ]["containerDefinitions"][0]
    assert container["command"] == ["serve", "order-api"]
    assert "/readyz" in " ".join(container["healthCheck"]["command"])
    (policy,) = api.call(
        "application-autoscaling",
        "DescribeScalingPolicies",
        {"ServiceNamespace": "ecs", "ResourceId": "service/coffee-shop/order-api"},
    )["ScalingPolicies"]
    metric = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert metric["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    # AWS's ResourceLabel: the load balancer's and the target group's full names.
    assert metric["ResourceLabel"] == (
        alb["LoadBalancerArn"].split(":loadbalancer/")[1]
        + "/"
        + target_group["TargetGroupArn"].rsplit(":", 1)[1]
    )
    assert metric["ResourceLabel"].startswith("app/coffee-shop/")
    assert "/targetgroup/order-api/" in metric["ResourceLabel"]


def test_unknown_variables_and_references_are_refused(tmp_path: Path, api: AwsSdkCaller):
    stack = tmp_path / "stack.json"
    stack.write_text(
        json.dumps({"Steps": [{"Service": "ec2", "Action": "X", "Params": {"A": "${NOPE}"}}]})
    )
    with pytest.raises(StackError, match=r"\$\{NOPE\} is not set"):
        load(stack, {})
    stack.write_text(
        json.dumps(
            {
                "Steps": [
                    {
                        "Service": "elbv2",
                        "Action": "DescribeRules",
                        "Params": {"ListenerArn": "${gone.ListenerArn}"},
                    }
                ]
            }
        )
    )
    with pytest.raises(StackError, match="names no earlier resource"):
        apply(api, load(stack, {}))


def test_a_launch_template_made_for_another_backend_is_reported_not_changed(api: AwsSdkCaller):
    steps = served(api, load(STACK_FILE, variables(CREDENTIALS)))
    apply(api, steps)
    again = apply(
        api, served(api, load(STACK_FILE, variables({**CREDENTIALS, "BACKEND": "redis"})))
    )
    drifted = {o.step.name: o.drift for o in again if o.drift}
    assert drifted == {
        "ecs RegisterTaskDefinition order-api": ("containerDefinitions[0].environment",),
        "ec2 CreateLaunchTemplate barista": ("UserData.Environment",),
    }
    versions = api.call("ec2", "DescribeLaunchTemplateVersions", {"LaunchTemplateName": "barista"})
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert decode_user_data(data["UserData"])["Environment"]["BARISTA_BROKER_URL"].startswith(
        "amqp://"
    )


def test_readiness_waits_for_the_service_to_run_its_desired_count(api: AwsSdkCaller):
    steps = served(api, load(STACK_FILE, variables(CREDENTIALS)))
    apply(api, steps)
    # No controller runs here: the service's tasks are never started.
    waiting = services_running(api, service_names(steps))
    assert waiting == ["service order-api (0/2 running)"]
    assert services_running(api, [("coffee-shop", "nope")]) == ["service nope (not created)"]
    assert "service order-api (0/2 running)" in readiness(api, [], [], service_names(steps)).waiting
