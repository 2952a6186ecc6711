"""Lifecycle hook notifications: AWS's message, sent to a Barista SQS queue or SNS topic.

When an instance enters ``Pending:Wait`` or ``Terminating:Wait``, each hook with a
``NotificationTargetARN`` gets one message in the JSON AWS documents for lifecycle
notifications (``Origin``, ``Destination``, ``Service``, ``Time``, ``RequestId``,
``LifecycleActionToken``, ``AccountId``, ``AutoScalingGroupName``, ``LifecycleHookName``,
``EC2InstanceId``, ``LifecycleTransition``, and ``NotificationMetadata`` when set), so a
consumer written for AWS completes the action with the token it reads. Targets are Barista's
own queues (``arn:aws:sqs:…``) and topics (``arn:aws:sns:…``); any other ARN is logged and
skipped. The test notification AWS sends when a hook is created is not sent.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.arns import ACCOUNT_ID
from orchestrator.asg.hooks import LifecycleHook, LifecycleTransition
from orchestrator.asg.lifecycle import InstanceLifecycle, LifecycleAction

log = logging.getLogger(__name__)

# (target ARN, message body) -> returns once the queue or topic accepted it.
Send = Callable[[str, str], None]


def _iso_millis(seconds: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{int(seconds * 1000) % 1000:03d}Z"


def lifecycle_message(
    hook: LifecycleHook, record: InstanceLifecycle, action: LifecycleAction
) -> dict[str, Any]:
    """The notification AWS sends for one lifecycle action, as a JSON-ready dict."""
    launching = hook.lifecycle_transition is LifecycleTransition.LAUNCHING
    message: dict[str, Any] = {
        "Origin": "EC2" if launching else "AutoScalingGroup",
        "Destination": "AutoScalingGroup" if launching else "EC2",
        "Service": "AWS Auto Scaling",
        "Time": _iso_millis(action.started_at),
        "RequestId": str(uuid.uuid5(uuid.NAMESPACE_URL, action.lifecycle_action_token)),
        "LifecycleActionToken": action.lifecycle_action_token,
        "AccountId": ACCOUNT_ID,
        "AutoScalingGroupName": record.auto_scaling_group_name,
        "LifecycleHookName": hook.lifecycle_hook_name,
        "EC2InstanceId": record.instance_id,
        "LifecycleTransition": hook.lifecycle_transition.value,
    }
    if hook.notification_metadata is not None:
        message["NotificationMetadata"] = hook.notification_metadata
    return message


@dataclass(frozen=True)
class Notifier:
    """Sends each lifecycle notification to its hook's target, by the ARN's service."""

    send_to_queue: Send | None = None
    publish_to_topic: Send | None = None

    def __call__(
        self, hook: LifecycleHook, record: InstanceLifecycle, action: LifecycleAction
    ) -> None:
        target = hook.notification_target_arn
        if not target:
            return
        body = json.dumps(lifecycle_message(hook, record, action))
        service = target.split(":")[2] if target.count(":") >= 2 else ""
        send = {"sqs": self.send_to_queue, "sns": self.publish_to_topic}.get(service)
        if send is None:
            log.warning(
                "lifecycle notification not sent: only Barista's SQS queues and SNS topics "
                "are targets",
                extra={"target": target, "hook": hook.lifecycle_hook_name},
            )
            return
        send(target, body)
