"""A declarative stack: AWS API calls in AWS's shapes, applied so that applying twice is once.

The file (JSON) is ``{"Description": …, "Steps": [step, …]}``; a step is
``{"Id": "alb", "Service": "elbv2", "Action": "CreateLoadBalancer", "Params": {…}}`` — the
``Params`` exactly what ``aws … --cli-input-json`` (and boto3, and ``POST /api/{Service}/
{Action}``) takes, with one convenience: a launch template's ``UserData`` may be written as the
JSON object it carries (the container's ``Command``, ``Environment``, …), and is base64-encoded
on loading, as EC2 wants it on the wire.
In any string, ``${NAME}`` is a variable (:func:`orchestrator.demo.environment.variables`),
replaced when the file is loaded, and ``${id.Field}`` is a field of the resource an earlier
step with that ``Id`` created or found (``${alb.LoadBalancerArn}``), replaced when the step runs.

Applying creates what is missing and leaves what exists alone (like CloudFormation's create,
not its update): a create that answers "already exists" (``DuplicateTargetGroupName``,
``AlreadyExists``…) is looked up instead, so later steps still get its ARN; a ``Put…`` whose
resource exists is skipped. Changing a resource the stack made is the API's or CLI's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from orchestrator.client import ServiceError
from orchestrator.launch_templates import (
    decode_user_data,
    encode_user_data,
    redact,
    redacted_environment,
)

Document = dict[str, Any]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z0-9_]+))?\}")


class StackError(ValueError):
    """The file is malformed, names an unknown variable, or refers to an unknown resource."""


class Caller(Protocol):
    def call(self, service: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Step:
    service: str
    action: str
    params: Document
    id: str | None = None

    @property
    def name(self) -> str:
        """``elbv2 CreateTargetGroup order-api``: the action and what it names."""
        named = next((str(self.params[k]) for k in _NAME_KEYS if k in self.params), self.id)
        return f"{self.service} {self.action}" + (f" {named}" if named else "")


# The parameter that names a step's resource, for progress lines.
_NAME_KEYS = (
    "LaunchTemplateName",
    "PolicyName",
    "AutoScalingGroupName",
    "Name",
    "Priority",
    "clusterName",
    "family",
    "serviceName",
    "ResourceId",
)


class Result(StrEnum):
    CREATED = "created"
    EXISTS = "exists"  # left as it was
    DONE = "done"  # an action that is idempotent by itself (an attachment)


@dataclass(frozen=True)
class Outcome:
    step: Step
    result: Result
    resource: Document | None
    drift: tuple[str, ...] = ()  # what an existing resource has that the file does not say


# Load.


def _substitute(value: Any, replace: Callable[[re.Match[str]], str]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(item, replace) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, replace) for key, item in value.items()}
    return value


def load(path: Path, variables: Mapping[str, str]) -> list[Step]:
    """The file's steps with ``${NAME}`` variables filled in; references are kept for later."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise StackError(f"{path}: {error}") from None
    raw_steps = document.get("Steps") if isinstance(document, dict) else None
    if not isinstance(raw_steps, list):
        raise StackError(f'{path}: expected {{"Steps": [...]}}')

    def variable(match: re.Match[str]) -> str:
        name, field = match.group(1), match.group(2)
        if field is not None:
            return match.group(0)  # a resource reference, resolved when its step runs
        if name not in variables:
            raise StackError(f"{path}: ${{{name}}} is not set")
        return variables[name]

    steps = []
    for number, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict) or not {"Service", "Action"} <= raw.keys():
            raise StackError(f"{path}: step {number} needs Service, Action and Params")
        params = raw.get("Params", {})
        if not isinstance(params, dict):
            raise StackError(f"{path}: step {number}: Params must be an object")
        steps.append(
            Step(
                str(raw["Service"]),
                str(raw["Action"]),
                _encode_user_data(_substitute(params, variable)),
                str(raw["Id"]) if "Id" in raw else None,
            )
        )
    ids = [s.id for s in steps if s.id]
    if len(ids) != len(set(ids)):
        raise StackError(f"{path}: step Ids must be unique")
    return steps


def _encode_user_data(params: Document) -> Document:
    data = params.get("LaunchTemplateData")
    if isinstance(data, dict) and isinstance(data.get("UserData"), dict):
        encoded = {**data, "UserData": encode_user_data(data["UserData"])}
        return {**params, "LaunchTemplateData": encoded}
    return params


def _container(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A launch template's container document, from UserData or Barista's readable key."""
    if isinstance(data.get("UserData"), str):
        return decode_user_data(data["UserData"])
    container = data.get("BaristaContainer", {})
    return container if isinstance(container, Mapping) else {}


# Existing resources.

Finder = Callable[[Caller, Document], Document | None]


def _first(documents: list[Document], matches: Callable[[Document], bool]) -> Document | None:
    return next((d for d in documents if matches(d)), None)


def _find_load_balancer(client: Caller, params: Document) -> Document | None:
    try:
        found = client.call("elbv2", "DescribeLoadBalancers", {"Names": [params["Name"]]})
    except ServiceError as error:
        if error.code == "LoadBalancerNotFound":
            return None
        raise
    return _first(found["LoadBalancers"], lambda d: d["LoadBalancerName"] == params["Name"])


def _find_target_group(client: Caller, params: Document) -> Document | None:
    found = client.call("elbv2", "DescribeTargetGroups", {"Names": [params["Name"]]})
    return _first(found["TargetGroups"], lambda d: d["TargetGroupName"] == params["Name"])


def _find_listener(client: Caller, params: Document) -> Document | None:
    arn = params["LoadBalancerArn"]
    found = client.call("elbv2", "DescribeListeners", {"LoadBalancerArn": arn})
    return _first(found["Listeners"], lambda d: int(d["Port"]) == int(params["Port"]))


def _find_rule(client: Caller, params: Document) -> Document | None:
    found = client.call("elbv2", "DescribeRules", {"ListenerArn": params["ListenerArn"]})
    return _first(found["Rules"], lambda d: str(d["Priority"]) == str(params["Priority"]))


def _find_launch_template(client: Caller, params: Document) -> Document | None:
    name = params["LaunchTemplateName"]
    found = client.call("ec2", "DescribeLaunchTemplates", {"LaunchTemplateNames": [name]})
    return _first(found["LaunchTemplates"], lambda d: d["LaunchTemplateName"] == name)


def _find_policy(client: Caller, params: Document) -> Document | None:
    found = client.call(
        "autoscaling",
        "DescribePolicies",
        {
            "AutoScalingGroupName": params["AutoScalingGroupName"],
            "PolicyNames": [params["PolicyName"]],
        },
    )
    return _first(found["ScalingPolicies"], lambda _: True)


def _find_scheduled_action(client: Caller, params: Document) -> Document | None:
    found = client.call(
        "autoscaling",
        "DescribeScheduledActions",
        {
            "AutoScalingGroupName": params["AutoScalingGroupName"],
            "ScheduledActionNames": [params["ScheduledActionName"]],
        },
    )
    return _first(found["ScheduledUpdateGroupActions"], lambda _: True)


def _find_cluster(client: Caller, params: Document) -> Document | None:
    found = client.call("ecs", "DescribeClusters", {"clusters": [params["clusterName"]]})
    return _first(found["clusters"], lambda d: d["status"] == "ACTIVE")


def _find_task_definition(client: Caller, params: Document) -> Document | None:
    """The family's latest ACTIVE revision: registering again would add a revision."""
    try:
        found = client.call("ecs", "DescribeTaskDefinition", {"taskDefinition": params["family"]})
    except ServiceError as error:
        if error.code == "ClientException":  # "Unable to describe task definition."
            return None
        raise
    definition: Document = found["taskDefinition"]
    return definition


def _find_service(client: Caller, params: Document) -> Document | None:
    found = client.call(
        "ecs",
        "DescribeServices",
        {"cluster": params.get("cluster", "default"), "services": [params["serviceName"]]},
    )
    return _first(found["services"], lambda d: d["status"] != "INACTIVE")


@dataclass(frozen=True)
class Creation:
    """How to recognise a create that already happened: its refusal codes and a lookup."""

    result_key: str | None
    exists_codes: tuple[str, ...]
    find: Finder | None


CREATIONS: Mapping[str, Creation] = {
    "CreateCluster": Creation("cluster", (), None),
    "RegisterTaskDefinition": Creation("taskDefinition", (), None),
    "CreateService": Creation("service", (), None),
    "CreateLaunchTemplate": Creation(
        "LaunchTemplate",
        ("InvalidLaunchTemplateName.AlreadyExistsException",),
        _find_launch_template,
    ),
    "CreateAutoScalingGroup": Creation(None, ("AlreadyExists",), None),
    "CreateLoadBalancer": Creation("LoadBalancers", (), None),
    "CreateTargetGroup": Creation(
        "TargetGroups", ("DuplicateTargetGroupName",), _find_target_group
    ),
    "CreateListener": Creation("Listeners", ("DuplicateListener",), _find_listener),
    "CreateRule": Creation("Rules", ("PriorityInUse",), _find_rule),
}

# Looked up before the call, by service and action: Puts replace what they name (the stack
# leaves an existing one alone instead), an identical CreateLoadBalancer or CreateCluster
# succeeds without saying it existed, RegisterTaskDefinition would add a revision, and
# CreateService answers "not idempotent". (Application Auto Scaling's PutScalingPolicy and
# RegisterScalableTarget update in place with the file's values: idempotent by themselves.)
LOOK_FIRST: Mapping[tuple[str, str], Finder] = {
    ("elbv2", "CreateLoadBalancer"): _find_load_balancer,
    ("autoscaling", "PutScalingPolicy"): _find_policy,
    ("autoscaling", "PutScheduledUpdateGroupAction"): _find_scheduled_action,
    ("ecs", "CreateCluster"): _find_cluster,
    ("ecs", "RegisterTaskDefinition"): _find_task_definition,
    ("ecs", "CreateService"): _find_service,
}


# The container fields whose change would leave an existing demo on the wrong broker or network
# (a changed BACKEND, credentials or project name): said, not silently kept.
_CONTAINER_FIELDS = ("Command", "Environment", "Network")


def _drift(client: Caller, step: Step, params: Document) -> tuple[str, ...]:
    if step.action == "RegisterTaskDefinition":
        return _task_definition_drift(client, params)
    if step.action != "CreateLaunchTemplate":
        return ()
    found = client.call(
        "ec2",
        "DescribeLaunchTemplateVersions",
        {"LaunchTemplateName": params["LaunchTemplateName"], "Versions": ["$Latest"]},
    )
    versions = found.get("LaunchTemplateVersions") or [{}]
    current = versions[0].get("LaunchTemplateData", {})
    wanted = params.get("LaunchTemplateData", {})
    differences = [
        key
        for key in ("ImageId", "InstanceType")
        if key in wanted and current.get(key) != wanted[key]
    ]
    have = _container(current)
    for key, value in _container(wanted).items():
        if key in _CONTAINER_FIELDS and have.get(key) != _as_described(key, value):
            differences.append(f"UserData.{key}")
    return tuple(differences)


def _task_definition_drift(client: Caller, params: Document) -> tuple[str, ...]:
    """The file's containers' image, command and environment variables that the latest
    revision has otherwise. Variables the file does not name are not drift: a revision deployed
    since (the dashboard's deploy control adds one) keeps the file's."""
    found = client.call("ecs", "DescribeTaskDefinition", {"taskDefinition": params["family"]})
    current = {c["name"]: c for c in found["taskDefinition"].get("containerDefinitions", [])}
    differences = []
    for index, wanted in enumerate(params.get("containerDefinitions", [])):
        have = current.get(wanted.get("name"), {})
        for key in ("image", "command"):
            if key in wanted and have.get(key) != wanted[key]:
                differences.append(f"containerDefinitions[{index}].{key}")
        environment = {e["name"]: e.get("value") for e in have.get("environment", [])}
        if any(environment.get(e["name"]) != e.get("value") for e in wanted.get("environment", [])):
            differences.append(f"containerDefinitions[{index}].environment")
    return tuple(differences)


def _as_described(key: str, value: Any) -> Any:
    """A wanted value as a describe call prints it: secrets masked, so that a password alone
    never reads as drift (and is never compared in the clear)."""
    if key == "Environment" and isinstance(value, Mapping):
        return redacted_environment(value)
    if key == "Command" and isinstance(value, list):
        return [redact(str(arg)) for arg in value]
    return value


def _resource(response: Document, key: str | None) -> Document | None:
    if key is None:
        return None
    value = response.get(key)
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else None
    return value if isinstance(value, dict) else None


# Apply.


def _resolve(step: Step, resources: Mapping[str, Document | None]) -> Document:
    def reference(match: re.Match[str]) -> str:
        name, field = match.group(1), match.group(2)
        resource = resources.get(name)
        if resource is None or field not in resource:
            raise StackError(f"{step.name}: ${{{name}.{field}}} names no earlier resource field")
        return str(resource[field])

    resolved: Document = _substitute(step.params, reference)
    return resolved


def apply_step(client: Caller, step: Step, params: Document) -> Outcome:
    finder = LOOK_FIRST.get((step.service, step.action))
    if finder is not None:
        existing = finder(client, params)
        if existing is not None:
            return Outcome(step, Result.EXISTS, existing, _drift(client, step, params))
    creation = CREATIONS.get(step.action)
    if finder is not None and creation is None:
        return Outcome(step, Result.CREATED, client.call(step.service, step.action, params))
    if creation is None:
        return Outcome(step, Result.DONE, client.call(step.service, step.action, params))
    try:
        response = client.call(step.service, step.action, params)
    except ServiceError as error:
        if error.code not in creation.exists_codes:
            raise
        found = creation.find(client, params) if creation.find else None
        if creation.find is not None and found is None:
            raise
        return Outcome(step, Result.EXISTS, found, _drift(client, step, params))
    return Outcome(step, Result.CREATED, _resource(response, creation.result_key))


def with_full_names(resource: Document | None) -> Document | None:
    """A load balancer or target group with CloudFormation's ``LoadBalancerFullName``
    (``app/coffee-shop/0123…``) or ``TargetGroupFullName`` (``targetgroup/order-api/4567…``)
    beside its ARN: what ALBRequestCountPerTarget's ``ResourceLabel`` joins with a ``/``."""
    if resource is None:
        return None
    names = {}
    if ":loadbalancer/" in str(resource.get("LoadBalancerArn", "")):
        names["LoadBalancerFullName"] = str(resource["LoadBalancerArn"]).split(":loadbalancer/")[1]
    if ":targetgroup/" in str(resource.get("TargetGroupArn", "")):
        names["TargetGroupFullName"] = str(resource["TargetGroupArn"]).rsplit(":", 1)[1]
    return {**resource, **names}


def apply(
    client: Caller, steps: list[Step], report: Callable[[Outcome], None] = lambda _: None
) -> list[Outcome]:
    """Run the steps in order; ``report`` hears each outcome as it happens."""
    resources: dict[str, Document | None] = {}
    outcomes = []
    for step in steps:
        outcome = apply_step(client, step, _resolve(step, resources))
        if step.id:
            resources[step.id] = with_full_names(outcome.resource)
        outcomes.append(outcome)
        report(outcome)
    return outcomes


def group_names(steps: list[Step]) -> list[str]:
    """The Auto Scaling groups the stack creates, in order."""
    return [
        str(s.params["AutoScalingGroupName"]) for s in steps if s.action == "CreateAutoScalingGroup"
    ]


def service_names(steps: list[Step]) -> list[tuple[str, str]]:
    """The ECS services the stack creates, as (cluster, service), in order."""
    return [
        (str(s.params.get("cluster", "default")), str(s.params["serviceName"]))
        for s in steps
        if s.service == "ecs" and s.action == "CreateService"
    ]
