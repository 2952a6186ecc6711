"""A worker that completes its own terminate lifecycle hook, so scale-in never kills it busy.

When its Auto Scaling group scales in, the instance enters ``Terminating:Wait`` and stays
there while a terminate hook's action is open. The worker learns it by asking EC2 Auto
Scaling about itself (DescribeAutoScalingInstances, through the orchestrator's AWS API,
signed with SigV4 by the keys in its environment: what an EC2 instance with an instance
profile would do), then stops taking work, finishes what it holds, and calls
CompleteLifecycleAction with ``CONTINUE``; only then does the group drain and stop it. If the
worker dies or never answers, the hook's HeartbeatTimeout and DefaultResult decide, as in AWS.

Settings (``BARISTA_*``): ``LIFECYCLE_HOOK`` (the hook's name; unset turns all of this off),
``INSTANCE_ID`` (set by the orchestrator on every instance it launches), ``AWS_ENDPOINT``
(the orchestrator's API as the container reaches it), ``ACCESS_KEY_ID`` and
``SECRET_ACCESS_KEY`` (in the launch template's environment, which DescribeLaunchTemplateVersions
redacts), ``LIFECYCLE_POLL`` (seconds between questions, 1.0).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("services.scale_in")

WAITING_TO_TERMINATE = "Terminating:Wait"
REGION = "us-east-1"  # Barista's one region


class AutoScalingSelf(Protocol):
    """The two questions a worker asks EC2 Auto Scaling about its own instance."""

    def lifecycle_state(self) -> str | None:
        """The instance's LifecycleState, or None when the group does not know it (yet)."""
        ...

    def complete(self, result: str) -> None:
        """CompleteLifecycleAction for this instance and hook."""
        ...


@dataclass(frozen=True)
class BotocoreAutoScaling:
    """``AutoScalingSelf`` over botocore's autoscaling client, pointed at the orchestrator."""

    client: Any  # botocore's autoscaling client (untyped)
    instance_id: str
    lifecycle_hook_name: str

    @classmethod
    def connect(
        cls,
        endpoint: str,
        access_key_id: str,
        secret_access_key: str,
        instance_id: str,
        lifecycle_hook_name: str,
    ) -> BotocoreAutoScaling:
        import botocore.session  # noqa: PLC0415 - only workers with a hook need it

        client = botocore.session.get_session().create_client(
            "autoscaling",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )
        return cls(client, instance_id, lifecycle_hook_name)

    def _described(self) -> dict[str, Any] | None:
        found = self.client.describe_auto_scaling_instances(InstanceIds=[self.instance_id])
        instances = found.get("AutoScalingInstances", [])
        return instances[0] if instances else None

    def lifecycle_state(self) -> str | None:
        described = self._described()
        return None if described is None else str(described["LifecycleState"])

    def complete(self, result: str) -> None:
        described = self._described()
        if described is None:
            raise LookupError(f"{self.instance_id} is in no Auto Scaling group")
        self.client.complete_lifecycle_action(
            AutoScalingGroupName=described["AutoScalingGroupName"],
            LifecycleHookName=self.lifecycle_hook_name,
            InstanceId=self.instance_id,
            LifecycleActionResult=result,
        )


class ScaleInWatcher:
    """Asks every ``poll`` seconds; sets ``leaving`` once the instance waits to terminate.

    A question that fails (the orchestrator restarting) is logged and asked again; nothing
    here ever stops the worker by itself.
    """

    def __init__(
        self,
        group: AutoScalingSelf,
        leaving: threading.Event,
        stopping: threading.Event,
        poll: float = 1.0,
    ) -> None:
        self.group = group
        self.leaving = leaving
        self.stopping = stopping
        self.poll = poll

    def check_once(self) -> bool:
        """One question; True (and ``leaving`` set) when the instance waits to terminate."""
        try:
            state = self.group.lifecycle_state()
        except Exception as error:
            log.warning("lifecycle state unknown", extra={"error": str(error)})
            return False
        if state == WAITING_TO_TERMINATE:
            log.info("scale-in: finishing the order in hand, then leaving")
            self.leaving.set()
            return True
        return False

    def run(self) -> None:
        while not self.stopping.is_set() and not self.check_once():
            self.stopping.wait(self.poll)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="scale-in-watcher", daemon=True)
        thread.start()
        return thread


def complete_after_work(
    group: AutoScalingSelf,
    stopping: threading.Event,
    attempts: int = 5,
    pause: Callable[[float], object] | None = None,
) -> bool:
    """Complete the terminate hook with CONTINUE (the work in hand is done); a few tries, then
    the hook's timeout decides. Returns whether the group took it."""
    wait = pause if pause is not None else stopping.wait
    for attempt in range(1, attempts + 1):
        try:
            group.complete("CONTINUE")
        except Exception as error:
            log.warning(
                "CompleteLifecycleAction failed", extra={"attempt": attempt, "error": str(error)}
            )
            wait(float(attempt))
            continue
        log.info("terminate hook completed: the group may stop this instance")
        return True
    return False
