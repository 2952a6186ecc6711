"""The dashboard's buttons: each one a validated request carried out the way a user would.

Capacity and protection go through the API's own actions (so AWS's rules and messages apply);
traffic through the load generator's side door; a deployment through the ECS package's own
operations (RegisterTaskDefinition, UpdateService), as those actions' API handlers do; kill,
pause, the broker restart and stopping or starting a subscriber through the runtime, the only
Docker API user; the poison order through ``broker_adapters``. A refusal is a
:class:`ControlError` with an HTTP status and a reason a person can act on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.api import autoscaling
from orchestrator.dashboard.snapshot import Dashboard
from orchestrator.dashboard.sources import SourceError
from orchestrator.ecs.revisions import Change, deploy_revision
from orchestrator.ecs.state import EcsStore
from orchestrator.errors import AwsError
from orchestrator.spot.model import MarketSettings, Pool
from orchestrator.spot.operations import reclaim_capacity
from orchestrator.spot.store import SpotStore

Control = Callable[[Mapping[str, Any]], dict[str, Any]]


class ControlError(Exception):
    def __init__(self, status: int, reason: str, detail: Any = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail


@runtime_checkable
class ChaosRuntime(Protocol):
    """What ``DockerRuntime`` (and ``FakeRuntime``) add beyond ``Runtime`` for the demo."""

    def kill(self, instance_id: str) -> None: ...

    def pause(self, instance_id: str) -> None: ...

    def unpause(self, instance_id: str) -> None: ...

    def restart_service(self, service: str, project: str | None = None) -> str: ...


@runtime_checkable
class ServiceRuntime(Protocol):
    """Stopping and starting a Compose service's container (``DockerRuntime``, ``FakeRuntime``)."""

    def stop_service(self, service: str, project: str | None = None) -> str: ...

    def start_service(self, service: str, project: str | None = None) -> str: ...

    def service_running(self, service: str, project: str | None = None) -> bool: ...


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrafficChange(Body):
    pattern: str | None = None
    rate: float | None = Field(default=None, ge=0)
    peak_rate: float | None = Field(default=None, ge=0)


class DesiredCapacity(Body):
    group: str = Field(min_length=1)
    desired_capacity: int = Field(ge=0)


class Protection(Body):
    group: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)
    protected: bool = True


class InstanceTarget(Body):
    instance_id: str = Field(min_length=1)


class Pause(InstanceTarget):
    paused: bool = True


class SubscriberSwitch(Body):
    subscriber: str = Field(min_length=1)
    running: bool


NOT_FOUND = ("ClusterNotFoundException", "ServiceNotFoundException")


class Deploy(Body):
    cluster: str = Field(min_length=1)
    service: str = Field(min_length=1)
    change: Change


class SpotPool(Body):
    instance_type: str = Field(min_length=1)
    availability_zone: str = Field(min_length=1)


def _parse(model: type[Body], body: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(dict(body))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors()
        )
        raise ControlError(400, f"invalid request: {problems}") from None


def controls(dashboard: Dashboard) -> dict[str, Control]:  # noqa: PLR0915 - a closure each
    """Control name (the URL's last segment) → handler."""
    context = dashboard.context
    runtime = context.runtime
    api = autoscaling.actions(context)

    def aws(action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return dict(api[action](params))
        except AwsError as error:
            raise ControlError(400, f"{action}: {error.message}", {"code": error.code}) from None

    def chaos() -> ChaosRuntime:
        if not isinstance(runtime, ChaosRuntime):
            raise ControlError(501, f"the runtime {type(runtime).__name__} cannot do this")
        return runtime

    def member(instance_id: str) -> None:
        if not any(i.instance_id == instance_id for i in runtime.instances()):
            raise ControlError(404, f"no instance {instance_id} in any group")

    def traffic(body: Mapping[str, Any]) -> dict[str, Any]:
        change = _parse(TrafficChange, body)
        update = change.model_dump(exclude_none=True)
        if not update:
            raise ControlError(400, "invalid request: name a pattern, a rate or a peak_rate")
        loadgen = dashboard.sources.loadgen
        if loadgen is None:
            raise ControlError(409, "no load generator: BARISTA_LOADGEN_URL is not set")
        try:
            return {"traffic": loadgen.change(update)}
        except SourceError as error:
            status = error.status if 400 <= error.status < 500 else 502
            raise ControlError(
                status, f"the load generator refused: {error}", error.detail
            ) from None

    def desired_capacity(body: Mapping[str, Any]) -> dict[str, Any]:
        request = _parse(DesiredCapacity, body)
        aws(
            "SetDesiredCapacity",
            {"AutoScalingGroupName": request.group, "DesiredCapacity": request.desired_capacity},
        )
        return {"group": request.group, "desired_capacity": request.desired_capacity}

    def protect(body: Mapping[str, Any]) -> dict[str, Any]:
        request = _parse(Protection, body)
        aws(
            "SetInstanceProtection",
            {
                "AutoScalingGroupName": request.group,
                "InstanceIds": [request.instance_id],
                "ProtectedFromScaleIn": request.protected,
            },
        )
        return {"instance_id": request.instance_id, "protected": request.protected}

    def reclaim_spot_capacity(body: Mapping[str, Any]) -> dict[str, Any]:
        """EC2 taking a Spot pool's capacity back, which AWS offers no API for: every Spot
        instance in the pool gets its two-minute notice on the market's next pass."""
        request = _parse(SpotPool, body)
        pool = Pool(request.instance_type, request.availability_zone)
        try:
            with SpotStore(context.store_path) as store:
                until = reclaim_capacity(
                    store, MarketSettings.from_environ(context.environ), pool, runtime.now()
                )
        except AwsError as error:
            raise ControlError(400, error.message, {"code": error.code}) from None
        return {
            "instance_type": pool.instance_type,
            "availability_zone": pool.availability_zone,
            "reclaimed_until": until,
        }

    def kill(body: Mapping[str, Any]) -> dict[str, Any]:
        request = _parse(InstanceTarget, body)
        target = chaos()
        member(request.instance_id)
        try:
            target.kill(request.instance_id)
        except LookupError as error:
            raise ControlError(404, str(error)) from None
        except ValueError as error:
            raise ControlError(409, str(error)) from None
        return {"instance_id": request.instance_id, "killed": True}

    def pause(body: Mapping[str, Any]) -> dict[str, Any]:
        request = _parse(Pause, body)
        target = chaos()
        member(request.instance_id)
        try:
            if request.paused:
                target.pause(request.instance_id)
            else:
                target.unpause(request.instance_id)
        except LookupError as error:
            raise ControlError(404, str(error)) from None
        except ValueError as error:
            raise ControlError(409, str(error)) from None
        return {"instance_id": request.instance_id, "paused": request.paused}

    def poison(body: Mapping[str, Any]) -> dict[str, Any]:
        _parse(Body, body)
        link = dashboard.sources.broker
        if link is None:
            raise ControlError(409, "no broker: BARISTA_BROKER_URL is not set")
        order_id = f"poison-{uuid.uuid4()}"
        # Valid JSON with an order id but not an order: every barista rejects it, and the
        # redrive policy moves it to the dead-letter queue, where the ledger records it.
        payload = f'{{"order_id": "{order_id}", "poison": "not an order"}}'.encode()
        try:
            message_id = link.send_raw(payload)
        except Exception as error:
            raise ControlError(503, f"the broker did not take the message: {error}") from None
        return {
            "order_id": order_id,
            "message_id": message_id,
            "queue": link.queue.name,
            "dead_letter_queue": link.queue.dead_letter_queue,
        }

    def restart_broker(body: Mapping[str, Any]) -> dict[str, Any]:
        _parse(Body, body)
        service = dashboard.broker_service()
        if service is None:
            raise ControlError(409, "no broker: set BARISTA_BROKER_URL or BARISTA_BROKER_SERVICE")
        target = chaos()
        try:
            container = target.restart_service(service, dashboard.settings.compose_project)
        except LookupError as error:
            raise ControlError(404, f"{error} (set BARISTA_BROKER_SERVICE?)") from None
        except ValueError as error:
            raise ControlError(409, f"{error} (set BARISTA_COMPOSE_PROJECT)") from None
        return {"service": service, "container": container, "restarted": True}

    def subscriber(body: Mapping[str, Any]) -> dict[str, Any]:
        request = _parse(SubscriberSwitch, body)
        known = dashboard.sources.subscribers.links
        if request.subscriber not in known:
            names = ", ".join(sorted(known)) or "none (BARISTA_SUBSCRIBERS is not set)"
            raise ControlError(404, f"no subscriber {request.subscriber!r}; known: {names}")
        if not isinstance(runtime, ServiceRuntime):
            raise ControlError(501, f"the runtime {type(runtime).__name__} cannot do this")
        project = dashboard.settings.compose_project
        try:
            if request.running:
                container = runtime.start_service(request.subscriber, project)
            else:
                # What was published so far, so the topic panel can tell what it misses; a
                # second stop of a stopped subscriber keeps the first one's count.
                if runtime.service_running(request.subscriber, project):
                    dashboard.sources.subscribers.stopped(request.subscriber, dashboard.brewed())
                container = runtime.stop_service(request.subscriber, project)
        except LookupError as error:
            raise ControlError(404, f"{error} (set BARISTA_COMPOSE_PROJECT?)") from None
        except ValueError as error:
            raise ControlError(409, f"{error} (set BARISTA_COMPOSE_PROJECT)") from None
        return {
            "subscriber": request.subscriber,
            "container": container,
            "running": request.running,
        }

    def deploy(body: Mapping[str, Any]) -> dict[str, Any]:
        """A new revision of the service's task definition, then UpdateService to it: an
        environment variable changed (a good deployment) or a health check that always fails
        (a bad one, which the deployment circuit breaker rolls back)."""
        request = _parse(Deploy, body)
        now = runtime.now()
        # The revision says when it was made, on the AWS clock the page shows.
        variable = ("BARISTA_DEPLOYED_AT", f"{now:.0f}")
        try:
            with EcsStore(context.store_path) as store:
                deployed = deploy_revision(
                    store,
                    request.cluster,
                    request.service,
                    request.change,
                    now=now,
                    variable=variable,
                )
        except AwsError as error:
            status = 404 if error.code in NOT_FOUND else 400
            raise ControlError(status, error.message, {"code": error.code}) from None
        return {
            "cluster": request.cluster,
            "service": request.service,
            "change": request.change.value,
            "container": deployed.container,
            "task_definition": deployed.task_definition.family_revision,
            "deployment": deployed.service.primary.deployment_id,
        }

    return {
        "deploy": deploy,
        "subscriber": subscriber,
        "traffic": traffic,
        "desired-capacity": desired_capacity,
        "protect": protect,
        "kill": kill,
        "pause": pause,
        "poison": poison,
        "restart-broker": restart_broker,
        "reclaim-spot-capacity": reclaim_spot_capacity,
    }
