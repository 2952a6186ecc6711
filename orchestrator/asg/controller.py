"""The Auto Scaling controller: a level-triggered loop that closes the gap each pass.

Each pass reads desired state from the store and actual state from the runtime (Docker
labels), asks the pure ``plan`` what to do, carries it out, and records the activities. It
holds no state between passes, so killing the orchestrator at any point and starting it again
converges to the same result: instance ids are derived deterministically by ``plan``, and the
runtime refuses a second container with an id already in use.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Set
from dataclasses import dataclass

from orchestrator.asg import Activity, AutoScalingGroup, HealthCheckType, Plan, plan
from orchestrator.asg.activity import ActivityStatusCode
from orchestrator.asg.instance import Health, Instance
from orchestrator.asg.store import Store
from orchestrator.asg.terminator import BeforeTerminate, Terminator
from orchestrator.loop import run_passes
from orchestrator.runtime import InstanceIdInUse, Runtime

__all__ = ["AutoScalingController", "BeforeTerminate", "ElbUnhealthy", "PassResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    """What one reconcile pass did, per group."""

    plans: dict[str, Plan]

    @property
    def changed(self) -> bool:
        return any(not p.is_empty for p in self.plans.values())


# group name -> ids of its instances some attached target group reports unhealthy.
ElbUnhealthy = Callable[[str], Set[str]]


class AutoScalingController:
    """Runs the group reconciler; ``before_terminate`` and ``elb_unhealthy`` connect the load
    balancer (EC2 Auto Scaling deregisters an instance from its target groups and waits for the
    deregistration delay before terminating it; with HealthCheckType ELB it also replaces the
    instances the target groups find unhealthy)."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        *,
        before_terminate: BeforeTerminate | None = None,
        elb_unhealthy: ElbUnhealthy | None = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.before_terminate = before_terminate
        self.elb_unhealthy = elb_unhealthy
        self.terminate = Terminator(runtime, before_terminate)

    def reconcile_once(self) -> PassResult:
        """One pass over every group; safe to repeat and to interrupt."""
        templates = self.store.launch_templates()
        plans: dict[str, Plan] = {}
        for name, group in self.store.groups().items():
            instances = self._with_elb_health(name, group, self.runtime.instances(name))
            decided = plan(
                group, templates, instances, set(group.protected_instance_ids), self.runtime.now()
            )
            plans[name] = decided
            if decided.is_empty:
                continue
            self._apply(decided)
            # Re-read the group: an API call may have changed it while the pass ran.
            current = self.store.groups().get(name)
            if current is not None:
                protected = decided.protected_instance_ids(current.protected_instance_ids)
                self.store.put_group(dataclasses.replace(current, protected_instance_ids=protected))
        return PassResult(plans)

    def _with_elb_health(
        self, name: str, group: AutoScalingGroup, instances: list[Instance]
    ) -> list[Instance]:
        """With HealthCheckType ELB, a running instance its target groups fail is unhealthy."""
        if self.elb_unhealthy is None or group.health_check_type is not HealthCheckType.ELB:
            return instances
        failing = self.elb_unhealthy(name)
        return [
            dataclasses.replace(i, health=Health.UNHEALTHY)
            if i.instance_id in failing and i.health is not Health.STOPPED
            else i
            for i in instances
        ]

    def _apply(self, decided: Plan) -> None:
        """Carry out a plan, recording each activity as soon as its action is done, so a
        controller killed mid-plan leaves a history that matches what Docker has."""
        for termination in decided.terminations:
            group = termination.activity.auto_scaling_group_name
            self.terminate(group, termination.instance_id)
            self.store.record_activities([_finished(termination.activity, self.runtime.now())])
            log.info("terminated", extra={"instance_id": termination.instance_id})
        for launch in decided.launches:
            try:
                self.runtime.launch(
                    launch.activity.auto_scaling_group_name,
                    launch.instance_id,
                    template_name=launch.launch_template_name,
                    template_version=launch.template_version,
                    data=launch.data,
                    availability_zone=launch.availability_zone,
                    lifecycle=launch.lifecycle,
                    protected=launch.protected,
                )
            except InstanceIdInUse:
                # A pass before a restart launched it already; the next pass will see it.
                continue
            self.store.record_activities([_finished(launch.activity, self.runtime.now())])
            log.info("launched", extra={"instance_id": launch.instance_id})

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        """Reconcile every ``interval`` seconds until ``stopping`` is set."""
        run_passes(self.reconcile_once, stopping, interval, "auto scaling reconcile")


def _finished(activity: Activity, end_time: float) -> Activity:
    return dataclasses.replace(
        activity, status_code=ActivityStatusCode.SUCCESSFUL, end_time=end_time, progress=100
    )
