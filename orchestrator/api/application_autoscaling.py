"""Application Auto Scaling for ECS services: ``POST /api/application-autoscaling/{Action}``.

Only ``ServiceNamespace`` ``ecs`` and ``ScalableDimension`` ``ecs:service:DesiredCount`` are
served; ``ResourceId`` is ``service/CLUSTER/SERVICE``. Target tracking policies take AWS's
predefined metrics ``ECSServiceAverageCPUUtilization`` and ``ALBRequestCountPerTarget``
(``ResourceLabel`` names the target group), or a customized metric on SQS's
``ApproximateNumberOfMessagesVisible`` with a ``QueueName`` dimension (also inside metric
math, as AWS's backlog-per-task recipe writes it): Barista divides that backlog by the running
tasks. StepScaling policies run while a CloudWatch alarm (``barista cloudwatch
put-metric-alarm``) names their PolicyARN in AlarmActions and is in ALARM.

The three describes page as AWS's do (``orchestrator.paging``): ``MaxResults`` 1-50 (1-10 for
DescribeScalingPolicies), AWS's default when not given, refused outside that with
``ValidationException``; a ``NextToken`` Barista did not give out is
``InvalidNextTokenException``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._policies import alarm_arn
from orchestrator.api._requests import Request, iso, parse
from orchestrator.arns import arn
from orchestrator.ecs.scalable_target import (
    BACKLOG,
    CPU,
    DEFAULT_COOLDOWN,
    DIMENSION,
    REQUESTS,
    ScalableTarget,
    ServiceMetric,
    ServiceScalingPolicy,
    tracking_configuration,
)
from orchestrator.ecs.state import EcsStore
from orchestrator.errors import AwsError, ValidationError
from orchestrator.paging import Page, paginate
from orchestrator.scaling.adjustment import AdjustmentType
from orchestrator.scaling.alarms import TrackingAlarm, tracking_alarm_name
from orchestrator.scaling.policy import TargetTrackingPolicy
from orchestrator.scaling.step import StepAdjustment, StepScalingPolicy

SERVICE = "application-autoscaling"
# Barista's shared request validation says ValidationError (EC2 Auto Scaling's code); this
# service's model calls the same refusal ValidationException.
ERROR_CODES = {"ValidationError": "ValidationException"}


class RegisterScalableTarget(Request):
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    min_capacity: int | None = Field(default=None, ge=0)
    max_capacity: int | None = Field(default=None, ge=0)
    role_arn: str | None = Field(default=None, alias="RoleARN")
    suspended_state: dict[str, Any] | None = None
    tags: dict[str, str] | None = None


class Target(Request):
    service_namespace: str
    resource_id: str
    scalable_dimension: str


class Paged(Request):
    max_results: int | None = None
    next_token: str | None = None

    def page_size(self, most: int) -> int:
        """``MaxResults``, 1 to ``most`` (also its default), as AWS takes it."""
        if self.max_results is None:
            return most
        if not 1 <= self.max_results <= most:
            bound = (
                "greater than or equal to 1"
                if self.max_results < 1
                else f"less than or equal to {most}"
            )
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value '{self.max_results}' at 'maxResults' failed "
                f"to satisfy constraint: Member must have value {bound}",
            )
        return self.max_results


def invalid_next_token() -> AwsError:
    return AwsError("InvalidNextTokenException", "The next token supplied was invalid.")


def _paged(member: str, documents: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
    """A describe's answer: ``member``, and ``NextToken`` unless it was the last page."""
    answer: dict[str, Any] = {member: documents}
    if page.next_token is not None:
        answer["NextToken"] = page.next_token
    return answer


class DescribeScalableTargets(Paged):
    service_namespace: str
    resource_ids: list[str] | None = None
    scalable_dimension: str | None = None


class PutScalingPolicy(Request):
    policy_name: str = Field(min_length=1, max_length=256)
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    policy_type: str = "StepScaling"
    target_tracking_scaling_policy_configuration: dict[str, Any] | None = None
    step_scaling_policy_configuration: dict[str, Any] | None = None


class DeleteScalingPolicy(Request):
    policy_name: str
    service_namespace: str
    resource_id: str
    scalable_dimension: str


class DescribeScalingPolicies(Paged):
    service_namespace: str
    resource_id: str | None = None
    scalable_dimension: str | None = None
    policy_names: list[str] | None = None


class DescribeScalingActivities(Paged):
    service_namespace: str
    resource_id: str | None = None
    scalable_dimension: str | None = None
    include_not_scaled_activities: bool | None = None


def _service_of(namespace: str, resource_id: str, dimension: str | None) -> tuple[str, str]:
    if namespace != "ecs":
        raise ValidationError(f"Barista scales ECS services only, not namespace {namespace}.")
    if dimension is not None and dimension != DIMENSION:
        raise ValidationError(f"Unsupported scalable dimension {dimension}; use {DIMENSION}.")
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service":
        raise ValidationError(f"Unsupported resource ID {resource_id}: use service/CLUSTER/NAME.")
    return parts[1], parts[2]


def _sqs_queue(metric: Mapping[str, Any]) -> str | None:
    """The queue of an SQS ApproximateNumberOfMessagesVisible metric, plain or in metric math."""
    stats = [metric]
    for item in metric.get("Metrics") or []:
        stat = (item.get("MetricStat") or {}).get("Metric")
        if stat:
            stats.append(stat)
    for stat in stats:
        if stat.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            for dimension in stat.get("Dimensions") or []:
                if dimension.get("Name") == "QueueName":
                    return str(dimension.get("Value"))
    return None


def _step_policy(request: PutScalingPolicy, cluster: str, service: str) -> ServiceScalingPolicy:
    config = request.step_scaling_policy_configuration or {}
    adjustment_type = str(config.get("AdjustmentType", "ChangeInCapacity"))
    try:
        kind = AdjustmentType(adjustment_type)
    except ValueError:
        raise ValidationError(
            f"AdjustmentType {adjustment_type} is not one of ChangeInCapacity, "
            "PercentChangeInCapacity, ExactCapacity."
        ) from None
    # EC2 Auto Scaling's validation of steps and adjustments is AWS's for services too.
    step = StepScalingPolicy(
        policy_name=request.policy_name,
        adjustment_type=kind,
        step_adjustments=tuple(
            StepAdjustment(
                int(step["ScalingAdjustment"]),
                _bound(step.get("MetricIntervalLowerBound")),
                _bound(step.get("MetricIntervalUpperBound")),
            )
            for step in config.get("StepAdjustments") or []
        ),
        min_adjustment_magnitude=int(config["MinAdjustmentMagnitude"])
        if config.get("MinAdjustmentMagnitude") is not None
        else None,
        metric_aggregation_type=str(config.get("MetricAggregationType", "Average")),
        cooldown=int(config.get("Cooldown", DEFAULT_COOLDOWN)),
    )
    return ServiceScalingPolicy(request.policy_name, cluster, service, step)


def _bound(value: Any) -> float | None:
    return None if value is None else float(value)


def _policy(request: PutScalingPolicy, cluster: str, service: str) -> ServiceScalingPolicy:
    config = request.target_tracking_scaling_policy_configuration or {}
    if "TargetValue" not in config:
        raise ValidationError("TargetTrackingScalingPolicyConfiguration.TargetValue is required.")
    predefined = config.get("PredefinedMetricSpecification")
    customized = config.get("CustomizedMetricSpecification")
    if predefined:
        kind = predefined.get("PredefinedMetricType")
        if kind not in (CPU, REQUESTS):
            raise ValidationError(
                f"PredefinedMetricType {kind} is not supported; use {CPU} or {REQUESTS}."
            )
        label = str(predefined.get("ResourceLabel", ""))
        if kind == REQUESTS and not label:
            raise ValidationError(f"{REQUESTS} needs a ResourceLabel naming the target group.")
        metric = str(kind)
    elif customized:
        queue = _sqs_queue(customized)
        if queue is None:
            raise ValidationError(
                "Barista's customized metric is SQS ApproximateNumberOfMessagesVisible with a "
                "QueueName dimension (backlog per task)."
            )
        metric, label = BACKLOG, queue
    else:
        raise ValidationError("A metric specification is required.")
    tracking = TargetTrackingPolicy(
        ServiceMetric(metric, label),
        tracking_configuration(
            float(config["TargetValue"]),
            scale_out_cooldown=int(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN)),
            scale_in_cooldown=int(config.get("ScaleInCooldown", DEFAULT_COOLDOWN)),
            disable_scale_in=bool(config.get("DisableScaleIn", False)),
        ),
    )
    return ServiceScalingPolicy(request.policy_name, cluster, service, tracking)


def _step_doc(policy: ServiceScalingPolicy, step: StepScalingPolicy) -> dict[str, Any]:
    steps = []
    for adjustment in step.step_adjustments:
        described: dict[str, Any] = {"ScalingAdjustment": adjustment.scaling_adjustment}
        if adjustment.metric_interval_lower_bound is not None:
            described["MetricIntervalLowerBound"] = adjustment.metric_interval_lower_bound
        if adjustment.metric_interval_upper_bound is not None:
            described["MetricIntervalUpperBound"] = adjustment.metric_interval_upper_bound
        steps.append(described)
    return {
        **_policy_names(policy),
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": step.adjustment_type.value,
            "StepAdjustments": steps,
            "Cooldown": step.cooldown,
            "MetricAggregationType": step.metric_aggregation_type,
            **(
                {"MinAdjustmentMagnitude": step.min_adjustment_magnitude}
                if step.min_adjustment_magnitude is not None
                else {}
            ),
        },
    }


def _policy_names(policy: ServiceScalingPolicy) -> dict[str, Any]:
    return {
        "PolicyARN": policy.policy_arn,
        "PolicyName": policy.policy_name,
        "ServiceNamespace": "ecs",
        "ResourceId": policy.resource_id,
        "ScalableDimension": DIMENSION,
        "PolicyType": policy.policy_type,
    }


def _tracking_alarms(policy: ServiceScalingPolicy) -> list[dict[str, str]]:
    """The two alarms a target tracking policy owns, named as AWS names them."""
    names = [tracking_alarm_name(policy.resource_id, policy.policy_name, w) for w in TrackingAlarm]
    return [{"AlarmName": name, "AlarmARN": alarm_arn(name)} for name in names]


def _policy_doc(
    policy: ServiceScalingPolicy, tracking: TargetTrackingPolicy[ServiceMetric]
) -> dict[str, Any]:
    metric = tracking.metric
    config = tracking.configuration
    if metric.metric_type == BACKLOG:
        spec: dict[str, Any] = {
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Namespace": "AWS/SQS",
                "Dimensions": [{"Name": "QueueName", "Value": metric.resource_label}],
                "Statistic": "Average",
            }
        }
    else:
        spec = {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": metric.metric_type,
                **({"ResourceLabel": metric.resource_label} if metric.resource_label else {}),
            }
        }
    return {
        **_policy_names(policy),
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": config.target_value,
            **spec,
            "ScaleOutCooldown": config.scale_out_cooldown,
            "ScaleInCooldown": config.scale_in_cooldown,
            "DisableScaleIn": config.disable_scale_in,
        },
        "Alarms": _tracking_alarms(policy),
    }


def _describe(policy: ServiceScalingPolicy) -> dict[str, Any]:
    definition = policy.definition
    if isinstance(definition, StepScalingPolicy):
        return _step_doc(policy, definition)
    return _policy_doc(policy, definition)


def actions(context: ApiContext) -> dict[str, Action]:  # noqa: PLR0915 - one closure per action
    def register_scalable_target(params: Params) -> Mapping[str, Any]:
        request = parse(RegisterScalableTarget, params)
        cluster, service = _service_of(
            request.service_namespace, request.resource_id, request.scalable_dimension
        )
        with EcsStore(context.store_path) as store:
            if store.service(cluster, service) is None:
                raise ValidationError(f"ECS service doesn't exist: {request.resource_id}")
            existing = {t.resource_id: t for t in store.scalable_targets()}.get(request.resource_id)
            low = request.min_capacity
            high = request.max_capacity
            if existing is None and (low is None or high is None):
                raise ValidationError(
                    "MinCapacity and MaxCapacity are required to register a new scalable target."
                )
            low = low if low is not None else existing.min_capacity  # type: ignore[union-attr]
            high = high if high is not None else existing.max_capacity  # type: ignore[union-attr]
            if low > high:
                raise ValidationError("Minimum capacity cannot be greater than maximum capacity.")
            store.put_scalable_target(ScalableTarget(cluster, service, low, high))
        return {
            "ScalableTargetARN": arn(
                "application-autoscaling", f"scalable-target/{request.resource_id}"
            )
        }

    def describe_scalable_targets(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScalableTargets, params)
        size = request.page_size(50)
        with EcsStore(context.store_path) as store:
            targets = [
                t
                for t in store.scalable_targets()
                if not request.resource_ids or t.resource_id in request.resource_ids
            ]
        page = paginate(
            "scalable-targets",
            targets,
            lambda t: [t.resource_id],
            size,
            request.next_token,
            invalid_next_token,
        )
        documents = [
            {
                "ServiceNamespace": "ecs",
                "ResourceId": t.resource_id,
                "ScalableDimension": DIMENSION,
                "MinCapacity": t.min_capacity,
                "MaxCapacity": t.max_capacity,
            }
            for t in page.items
        ]
        return _paged("ScalableTargets", documents, page)

    def deregister_scalable_target(params: Params) -> Mapping[str, Any]:
        request = parse(Target, params)
        _service_of(request.service_namespace, request.resource_id, request.scalable_dimension)
        with EcsStore(context.store_path) as store:
            if request.resource_id not in {t.resource_id for t in store.scalable_targets()}:
                raise AwsError("ObjectNotFoundException", "No scalable target registered.")
            store.delete_scalable_target(request.resource_id)
        return {}

    def put_scaling_policy(params: Params) -> Mapping[str, Any]:
        request = parse(PutScalingPolicy, params)
        cluster, service = _service_of(
            request.service_namespace, request.resource_id, request.scalable_dimension
        )
        if request.policy_type not in ("TargetTrackingScaling", "StepScaling"):
            raise ValidationError(
                f"PolicyType {request.policy_type} must be TargetTrackingScaling or StepScaling."
            )
        with EcsStore(context.store_path) as store:
            if request.resource_id not in {t.resource_id for t in store.scalable_targets()}:
                raise AwsError(
                    "ObjectNotFoundException",
                    f"No scalable target registered for service namespace: ecs, resource ID: "
                    f"{request.resource_id}, scalable dimension: {DIMENSION}",
                )
            if request.policy_type == "StepScaling":
                step = _step_policy(request, cluster, service)
                store.put_scaling_policy(step)
                # Its alarm is the caller's: PutMetricAlarm with this ARN in AlarmActions.
                return {"PolicyARN": step.policy_arn, "Alarms": []}
            policy = _policy(request, cluster, service)
            store.put_scaling_policy(policy)
        return {
            "PolicyARN": policy.policy_arn,
            "Alarms": _tracking_alarms(policy),
        }

    def describe_scaling_policies(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScalingPolicies, params)
        size = request.page_size(10)
        with EcsStore(context.store_path) as store:
            policies = store.scaling_policies()
        chosen = [
            p
            for p in policies
            if (request.resource_id is None or p.resource_id == request.resource_id)
            and (not request.policy_names or p.policy_name in request.policy_names)
        ]
        page = paginate(
            "scaling-policies",
            chosen,
            lambda p: [p.resource_id, p.policy_name],
            size,
            request.next_token,
            invalid_next_token,
        )
        documents = [_describe(p) for p in page.items]
        return _paged("ScalingPolicies", documents, page)

    def delete_scaling_policy(params: Params) -> Mapping[str, Any]:
        request = parse(DeleteScalingPolicy, params)
        with EcsStore(context.store_path) as store:
            if not store.delete_scaling_policy(request.resource_id, request.policy_name):
                raise AwsError("ObjectNotFoundException", "No scaling policy found.")
        return {}

    def describe_scaling_activities(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeScalingActivities, params)
        size = request.page_size(50)
        with EcsStore(context.store_path) as store:
            activities = store.scaling_activities(request.resource_id)
        page = paginate(
            "scaling-activities",
            activities,
            # Newest first, as AWS lists them.
            lambda a: [-a.start_time, a.activity_id],
            size,
            request.next_token,
            invalid_next_token,
        )
        documents = [
            {
                "ActivityId": a.activity_id,
                "ServiceNamespace": "ecs",
                "ResourceId": a.resource_id,
                "ScalableDimension": DIMENSION,
                "Description": a.description,
                "Cause": a.cause,
                "StartTime": iso(a.start_time),
                "EndTime": iso(a.end_time if a.end_time is not None else a.start_time),
                "StatusCode": a.status_code.value,
            }
            for a in page.items
        ]
        return _paged("ScalingActivities", documents, page)

    return {
        "RegisterScalableTarget": register_scalable_target,
        "DescribeScalableTargets": describe_scalable_targets,
        "DeregisterScalableTarget": deregister_scalable_target,
        "PutScalingPolicy": put_scaling_policy,
        "DescribeScalingPolicies": describe_scaling_policies,
        "DeleteScalingPolicy": delete_scaling_policy,
        "DescribeScalingActivities": describe_scaling_activities,
    }
