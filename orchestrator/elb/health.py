"""AWS target health from what HAProxy's checks report (pure; see ``haproxy_runtime``).

HAProxy knows UP/DOWN and the last check's outcome; AWS distinguishes *initial* (not yet
passed ``healthy_threshold_count`` checks since registration) from *unhealthy* (failing, or
recovering after having been healthy). A server added by ``HaproxyRuntimeApi.add_server`` is
forced down once (``chkdown`` = 1), so a DOWN server with more transitions than that has been
healthy before and is *unhealthy* while it recovers, as in AWS.
"""

from __future__ import annotations

from orchestrator.elb.haproxy_runtime import ServerStatus
from orchestrator.elb.model import TargetHealth, TargetHealthReason, TargetHealthState

_TIMEOUTS = {"L4TOUT", "L6TOUT", "L7TOUT"}
_PASSING = {"", "INI", "L4OK", "L6OK", "L7OK", "L7OKC"}

HEALTHY = TargetHealth(TargetHealthState.HEALTHY)
REGISTERING = TargetHealth(
    TargetHealthState.INITIAL,
    TargetHealthReason.REGISTRATION_IN_PROGRESS,
    "Target registration is in progress",
)
DRAINING = TargetHealth(
    TargetHealthState.DRAINING,
    TargetHealthReason.DEREGISTRATION_IN_PROGRESS,
    "Target deregistration is in progress",
)
NOT_IN_USE = TargetHealth(
    TargetHealthState.UNUSED,
    TargetHealthReason.NOT_IN_USE,
    "Target group is not configured to receive traffic from the load balancer",
)
NOT_REGISTERED = TargetHealth(
    TargetHealthState.UNUSED,
    TargetHealthReason.NOT_REGISTERED,
    "Target is not registered to the target group",
)
CHECKS_DISABLED = TargetHealth(
    TargetHealthState.UNAVAILABLE,
    TargetHealthReason.HEALTH_CHECK_DISABLED,
    "Health checks are disabled",
)


def target_health(status: ServerStatus, *, checks_enabled: bool = True) -> TargetHealth:
    """The health of a registered, in-use, not draining target from its server's status."""
    if not checks_enabled:
        return CHECKS_DISABLED
    if status.state in ("MAINT", "DRAIN"):
        return REGISTERING  # add_server's set-up steps, over within one command line
    if status.state == "UP":
        return HEALTHY
    return _down(status)


def _down(status: ServerStatus) -> TargetHealth:
    if status.check_status == "L7STS":
        return TargetHealth(
            TargetHealthState.UNHEALTHY,
            TargetHealthReason.RESPONSE_CODE_MISMATCH,
            f"Health checks failed with these codes: [{status.check_code}]",
        )
    if status.check_status in _TIMEOUTS:
        return TargetHealth(
            TargetHealthState.UNHEALTHY, TargetHealthReason.TIMEOUT, "Request timed out"
        )
    if status.check_status in _PASSING and status.check_down_count <= 1:
        return TargetHealth(
            TargetHealthState.INITIAL,
            TargetHealthReason.INITIAL_HEALTH_CHECKING,
            "Initial health checks in progress",
        )
    return TargetHealth(
        TargetHealthState.UNHEALTHY,
        TargetHealthReason.FAILED_HEALTH_CHECKS,
        f"Health checks failed ({status.check_status or 'no answer'})",
    )
