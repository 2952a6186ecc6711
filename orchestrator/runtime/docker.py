"""``DockerRuntime``: instances are containers, and their labels are the whole truth.

Every container the runtime starts carries the ``LABEL_*`` labels of ``orchestrator.instances``
(plus any extra labels given to the constructor), so ``instances()`` rebuilds the actual state
from Docker alone. The runtime only ever lists, stops or removes containers that carry
``barista.managed=true`` and its extra labels, and it addresses them by container id.

Docker mapping:

- name ``barista-{group}-{instance_id}``: a second launch of the same id fails on the name;
- ``--cpus`` / ``--memory`` from the template; ``--network`` when the template names one;
- stop signal SIGTERM and the template's ``stop_timeout`` stored as the container's
  StopTimeout, so ``docker stop`` by hand behaves like ``terminate``;
- restart policy ``no``: the Auto Scaling group replaces dead instances, Docker must not;
- health: Docker's health status when the image has a HEALTHCHECK, else running = healthy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from orchestrator.instances import (
    LABEL_AZ,
    LABEL_GROUP,
    LABEL_INSTANCE_ID,
    LABEL_INSTANCE_TYPE,
    LABEL_LAUNCHED_AT,
    LABEL_LIFECYCLE,
    LABEL_MANAGED,
    LABEL_PROTECTED,
    LABEL_TEMPLATE,
    LABEL_TEMPLATE_VERSION,
    METADATA_ENDPOINT_VARIABLE,
    Health,
    Instance,
    Lifecycle,
    metadata_endpoint,
)
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.base import InstanceIdInUse, launch_labels
from orchestrator.runtime.images import ImagePolicy

_CONFLICT = 409
# Docker's StopTimeout and `docker stop -t` take whole seconds; rounding up never kills early.
_DOCKER_DEFAULT_STOP_TIMEOUT = 10


# Every instance's environment names its own instance id (a launch template's value for it is
# replaced), for workers that talk to EC2 Auto Scaling about themselves (services/scale_in.py).
INSTANCE_ID_VARIABLE = "BARISTA_INSTANCE_ID"


class DockerRuntime:
    """The ``Runtime`` protocol on a Docker engine (``docker.from_env()`` unless given a client).

    ``labels`` are added to every container and narrow what ``instances()`` and ``terminate``
    may touch: tests pass ``barista.test-session`` so each run sees, and can clean up, only
    its own containers. ``clock`` is the control plane's clock (``orchestrator.clock``): launch
    times on labels are written in it, so grace periods compare like with like.
    """

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        labels: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        images: ImagePolicy | None = None,
        metadata_url: str | None = None,
    ) -> None:
        # No version pinned: the SDK negotiates with the engine (20.10 here, newer elsewhere).
        self._client = client if client is not None else docker.from_env()
        # What it may run (images.py): the catalog's images and BARISTA_ALLOWED_IMAGES.
        self._images = images if images is not None else ImagePolicy.from_environ()
        self._extra_labels = dict(labels or {})
        self._scope = {LABEL_MANAGED: "true", **self._extra_labels}
        self._clock = clock
        # The orchestrator as instances reach it: each instance is told its metadata service.
        self._metadata_url = metadata_url

    def launch(
        self,
        group: str,
        instance_id: str,
        *,
        template_name: str,
        template_version: int,
        data: LaunchTemplateData,
        availability_zone: str,
        lifecycle: Lifecycle,
        protected: bool,
    ) -> Instance:
        labels = launch_labels(
            self._extra_labels,
            group,
            instance_id,
            template_name=template_name,
            template_version=template_version,
            data=data,
            availability_zone=availability_zone,
            lifecycle=lifecycle,
            protected=protected,
            launched_at=self.now(),
        )
        if self._find(instance_id) is not None:
            raise InstanceIdInUse(instance_id)
        self._images.check(data.image)
        api = self._client.api
        host_config = api.create_host_config(
            nano_cpus=round(data.cpus * 1e9) if data.cpus is not None else None,
            mem_limit=f"{data.memory_mib}m" if data.memory_mib is not None else None,
            network_mode=data.network,
            restart_policy={"Name": "no"},
        )
        try:
            created = api.create_container(
                data.image,
                command=list(data.command) or None,
                name=f"barista-{group}-{instance_id}",
                labels=labels,
                # An instance knows its own id, as an EC2 instance reads it from its metadata.
                environment=self._environment(data, instance_id),
                stop_signal="SIGTERM",
                stop_timeout=math.ceil(data.stop_timeout),
                host_config=host_config,
            )
        except APIError as error:
            if error.status_code == _CONFLICT:
                raise InstanceIdInUse(instance_id) from error
            raise
        container_id: str = created["Id"]
        try:
            api.start(container_id)
        except APIError:
            # A container that never ran is not an instance: leave nothing behind.
            api.remove_container(container_id, force=True)
            raise
        container = self._client.containers.get(container_id)
        return _instance(container)

    def _environment(self, data: LaunchTemplateData, instance_id: str) -> dict[str, str]:
        environment = {**data.environment, INSTANCE_ID_VARIABLE: instance_id}
        if self._metadata_url is not None:
            environment[METADATA_ENDPOINT_VARIABLE] = metadata_endpoint(
                self._metadata_url, instance_id
            )
        return environment

    def terminate(self, instance_id: str, stop_timeout: float | None = None) -> None:
        container = self._find(instance_id)
        if container is None:
            return
        if stop_timeout is None:
            config_timeout = container.attrs["Config"].get("StopTimeout")
            stop_timeout = (
                float(config_timeout)
                if config_timeout is not None
                else _DOCKER_DEFAULT_STOP_TIMEOUT
            )
        seconds = math.ceil(stop_timeout)
        container_id = str(container.id)
        api = self._client.api
        try:
            if container.status in ("running", "restarting", "paused", "created"):
                # The engine sends the StopSignal (SIGTERM), waits, then SIGKILLs, like ECS's
                # stopTimeout; the SDK stretches its HTTP timeout by the grace period.
                api.stop(container_id, timeout=seconds)
            api.remove_container(container_id, force=True)
        except NotFound:
            return  # removed concurrently: the outcome the caller asked for
        except APIError as error:
            if error.status_code == _CONFLICT and "already in progress" in str(error):
                api.wait(container_id, condition="removed")
                return
            raise

    def stop_instance(self, instance_id: str) -> None:
        container = self._find(instance_id)
        if container is None:
            raise LookupError(f"no instance {instance_id}")
        config_timeout = container.attrs["Config"].get("StopTimeout")
        seconds = (
            math.ceil(float(config_timeout))
            if config_timeout is not None
            else _DOCKER_DEFAULT_STOP_TIMEOUT
        )
        api = self._client.api
        if container.status == "paused":
            api.unpause(str(container.id))
        if container.status in ("running", "restarting", "paused"):
            api.stop(str(container.id), timeout=seconds)

    def hibernate_instance(self, instance_id: str) -> None:
        container = self._find(instance_id)
        if container is None:
            raise LookupError(f"no instance {instance_id}")
        if container.status == "running":
            self._client.api.pause(str(container.id))

    def start_instance(self, instance_id: str) -> None:
        container = self._find(instance_id)
        if container is None:
            raise LookupError(f"no instance {instance_id}")
        api = self._client.api
        if container.status == "paused":
            api.unpause(str(container.id))
        elif container.status in ("exited", "created"):
            api.start(str(container.id))

    def instances(self, group: str | None = None) -> list[Instance]:
        scope = dict(self._scope)
        if group is not None:
            scope[LABEL_GROUP] = group
        containers = self._client.containers.list(
            all=True,
            filters={"label": [f"{key}={value}" for key, value in scope.items()]},
            ignore_removed=True,
        )
        found = []
        for container in containers:
            try:
                found.append(_instance(container))
            except (KeyError, ValueError):
                # barista.managed=true set by hand without the rest: not one of ours to judge,
                # and one malformed container must not blind the reconciler to all the others.
                continue
        return found

    def cpu_percent(self, instance_id: str) -> float | None:
        container = self._find(instance_id)
        if container is None or container.status != "running":
            return None
        try:
            # Not one-shot: the engine waits for a second reading so precpu_stats is filled.
            stats = container.stats(stream=False)
        except (NotFound, APIError):
            return None
        assert isinstance(stats, dict)
        return _cpu_percent(stats)

    def now(self) -> float:
        return self._clock()

    # Chaos for the dashboard: not part of ``Runtime``, so controllers can never call them.

    def kill(self, instance_id: str) -> None:
        """SIGKILL a running instance, as a crash would; it stays listed as stopped until the
        group replaces it. ``LookupError`` for an unknown id, ``ValueError`` if not running."""
        self._container_call(instance_id, "kill")

    def pause(self, instance_id: str) -> None:
        """Freeze an instance (``docker pause``): it holds its work and answers nothing."""
        self._container_call(instance_id, "pause")

    def unpause(self, instance_id: str) -> None:
        self._container_call(instance_id, "unpause")

    def restart_service(self, service: str, project: str | None = None) -> str:
        """Restart the one Compose container of ``service`` (by Compose's labels, in
        ``project`` if given) and return its name once it runs again.

        ``LookupError`` if no container carries those labels, ``ValueError`` if several do.
        """
        container = self._service_container(service, project)
        self._client.api.restart(str(container.id), timeout=_DOCKER_DEFAULT_STOP_TIMEOUT)
        return str(container.name)

    def stop_service(self, service: str, project: str | None = None) -> str:
        """Stop the one Compose container of ``service`` as ``docker stop`` does (SIGTERM,
        then SIGKILL after Docker's default 10 s) and return its name. A container Compose
        runs with ``restart: unless-stopped`` stays stopped until started again. Errors as
        :meth:`restart_service`'s."""
        container = self._service_container(service, project)
        self._client.api.stop(str(container.id), timeout=_DOCKER_DEFAULT_STOP_TIMEOUT)
        return str(container.name)

    def start_service(self, service: str, project: str | None = None) -> str:
        """Start the one Compose container of ``service`` again (nothing if it runs) and
        return its name. Errors as :meth:`restart_service`'s."""
        container = self._service_container(service, project)
        self._client.api.start(str(container.id))
        return str(container.name)

    def service_running(self, service: str, project: str | None = None) -> bool:
        """Whether the one Compose container of ``service`` is running (errors as above)."""
        container = self._service_container(service, project)
        return str(container.status) == "running"

    def _service_container(self, service: str, project: str | None) -> Container:
        labels = [f"com.docker.compose.service={service}"]
        if project is not None:
            labels.append(f"com.docker.compose.project={project}")
        found = self._client.containers.list(all=True, filters={"label": labels})
        if not found:
            raise LookupError(f"no container has the labels {', '.join(labels)}")
        if len(found) > 1:
            names = ", ".join(sorted(str(c.name) for c in found))
            raise ValueError(f"several containers have the labels {', '.join(labels)}: {names}")
        (container,) = found
        return container

    def _container_call(self, instance_id: str, action: str) -> None:
        container = self._find(instance_id)
        if container is None:
            raise LookupError(f"no instance {instance_id}")
        try:
            getattr(self._client.api, action)(str(container.id))
        except NotFound:
            raise LookupError(f"no instance {instance_id}") from None
        except APIError as error:
            if error.status_code == _CONFLICT:
                raise ValueError(f"cannot {action} {instance_id}: {error.explanation}") from None
            raise

    def _find(self, instance_id: str) -> Container | None:
        """The one managed container with this instance id, or None; never an unlabelled one."""
        filters = [f"{key}={value}" for key, value in self._scope.items()]
        filters.append(f"{LABEL_INSTANCE_ID}={instance_id}")
        found = self._client.containers.list(
            all=True, filters={"label": filters}, ignore_removed=True
        )
        return found[0] if found else None


def _health(state: Mapping[str, Any]) -> Health:
    status = state.get("Status")
    if status in ("exited", "dead", "removing"):
        return Health.STOPPED
    if status == "created":
        # Created but never started: launch died between create and start (an orchestrator
        # killed mid-launch). Nothing will start it, so it must count as gone and be replaced.
        return Health.STOPPED
    if status == "restarting":
        return Health.STARTING
    if status == "paused":
        return Health.UNHEALTHY  # frozen: it cannot answer, like an impaired EC2 status check
    docker_health = (state.get("Health") or {}).get("Status")
    if docker_health in ("starting", "healthy", "unhealthy"):
        return Health(docker_health)
    return Health.HEALTHY


def _address(attrs: Mapping[str, Any]) -> str | None:
    networks: Mapping[str, Any] = attrs.get("NetworkSettings", {}).get("Networks") or {}
    mode = attrs.get("HostConfig", {}).get("NetworkMode")
    preferred = networks.get(mode) if mode in networks else None
    for network in [preferred, *networks.values()]:
        if network and network.get("IPAddress"):
            return str(network["IPAddress"])
    return None


def _instance(container: Container) -> Instance:
    attrs = container.attrs
    labels: Mapping[str, str] = attrs["Config"]["Labels"] or {}
    return Instance(
        instance_id=labels[LABEL_INSTANCE_ID],
        group=labels[LABEL_GROUP],
        launch_template=labels[LABEL_TEMPLATE],
        template_version=int(labels[LABEL_TEMPLATE_VERSION]),
        availability_zone=labels[LABEL_AZ],
        lifecycle=Lifecycle(labels[LABEL_LIFECYCLE]),
        protected_at_launch=labels[LABEL_PROTECTED] == "true",
        launched_at=float(labels[LABEL_LAUNCHED_AT]),
        health=_health(attrs["State"]),
        container_id=str(container.id),
        address=_address(attrs),
        instance_type=labels.get(LABEL_INSTANCE_TYPE),
    )


def _cpu_percent(stats: Mapping[str, Any]) -> float | None:
    """The docker CLI's formula: share of host CPU time used since the previous reading."""
    cpu = stats.get("cpu_stats") or {}
    precpu = stats.get("precpu_stats") or {}
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - precpu["cpu_usage"]["total_usage"]
        system_delta = cpu["system_cpu_usage"] - precpu["system_cpu_usage"]
    except KeyError:
        return None
    online = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or []) or 1
    if system_delta <= 0:
        return None
    return max(0.0, float(cpu_delta) / float(system_delta) * float(online) * 100.0)
