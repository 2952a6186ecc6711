"""``barista elbv2 …``: the AWS CLI's ``aws elbv2`` verbs against Barista's API.

Each verb is one row: the AWS action and its parameters by AWS name and kind; option names,
shorthand (``--default-actions Type=forward,TargetGroupArn=arn:…``), JSON, ``file://`` and
``--cli-input-json`` come from ``orchestrator.cli._client``.
"""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

LOAD_BALANCER = Param("LoadBalancerArn", required=True, help="the load balancer's ARN")
TARGET_GROUP = Param("TargetGroupArn", required=True, help="the target group's ARN")
LISTENER = Param("ListenerArn", required=True, help="the listener's ARN")
TARGETS = Param("Targets", "structures", required=True, help="Id=i-…|IP,Port=N …")
HEALTH_CHECK = (
    Param("HealthCheckProtocol", help="HTTP, HTTPS or TCP"),
    Param("HealthCheckPort", help="traffic-port (default) or a port number"),
    Param("HealthCheckPath", help="default /"),
    Param("HealthCheckEnabled", "boolean"),
    Param("HealthCheckIntervalSeconds", "integer", help="5-300 (default 30)"),
    Param("HealthCheckTimeoutSeconds", "integer", help="2-120 (default 5)"),
    Param("HealthyThresholdCount", "integer", help="2-10 (default 5)"),
    Param("UnhealthyThresholdCount", "integer", help="2-10 (default 2)"),
    Param("Matcher", "structure", help="HttpCode=200|200,202|200-299"),
)
ACTIONS_HELP = (
    "Type=forward,TargetGroupArn=ARN | Type=fixed-response,FixedResponseConfig={StatusCode=503}"
    " | Type=redirect,RedirectConfig={StatusCode=HTTP_301,Protocol=HTTPS,Port=443} (or JSON)"
)

VERBS = (
    Verb(
        "CreateLoadBalancer",
        (
            Param("Name", required=True),
            Param("Type", help="application (default) or network"),
            Param("Scheme"),
            Param("Subnets", "strings", help="accepted and ignored (one local network)"),
        ),
        "Create an Application or Network Load Balancer on HAProxy.",
    ),
    Verb(
        "DescribeLoadBalancers",
        (Param("LoadBalancerArns", "strings"), Param("Names", "strings")),
        "Load balancers, all or by ARN or name.",
    ),
    Verb("DeleteLoadBalancer", (LOAD_BALANCER,), "Delete a load balancer and its listeners."),
    Verb(
        "CreateTargetGroup",
        (
            Param("Name", required=True),
            Param("Protocol", help="HTTP (default), HTTPS, TCP or TLS"),
            Param("Port", "integer", required=True),
            Param("TargetType", help="instance (default) or ip"),
            Param("VpcId", help="accepted and ignored"),
            *HEALTH_CHECK,
        ),
        "Create a target group with AWS's health check defaults.",
    ),
    Verb(
        "ModifyTargetGroup", (TARGET_GROUP, *HEALTH_CHECK), "Change a target group's health check."
    ),
    Verb(
        "DescribeTargetGroups",
        (
            Param("LoadBalancerArn"),
            Param("TargetGroupArns", "strings"),
            Param("Names", "strings"),
        ),
        "Target groups, all or by load balancer, ARN or name.",
    ),
    Verb("DeleteTargetGroup", (TARGET_GROUP,), "Delete a target group no listener uses."),
    Verb(
        "ModifyTargetGroupAttributes",
        (
            TARGET_GROUP,
            Param(
                "Attributes",
                "structures",
                required=True,
                help="Key=deregistration_delay.timeout_seconds,Value=30 …",
            ),
        ),
        "Deregistration delay, slow start, algorithm, stickiness.",
    ),
    Verb("DescribeTargetGroupAttributes", (TARGET_GROUP,), "A target group's attributes."),
    Verb(
        "CreateListener",
        (
            LOAD_BALANCER,
            Param("Protocol", required=True, help="HTTP, HTTPS (ALB); TCP, TLS (NLB)"),
            Param("Port", "integer", required=True),
            Param("DefaultActions", "structures", required=True, help=ACTIONS_HELP),
            Param("Certificates", "structures", help="ignored: TLS uses the localhost certificate"),
        ),
        "Create a listener; TLS listeners present a generated localhost certificate.",
    ),
    Verb(
        "ModifyListener",
        (LISTENER, Param("DefaultActions", "structures", required=True, help=ACTIONS_HELP)),
        "Change a listener's default action.",
    ),
    Verb(
        "DescribeListeners",
        (Param("LoadBalancerArn"), Param("ListenerArns", "strings")),
        "Listeners of a load balancer, or by ARN.",
    ),
    Verb("DeleteListener", (LISTENER,), "Delete a listener and its rules."),
    Verb(
        "CreateRule",
        (
            LISTENER,
            Param("Priority", "integer", required=True, help="1-50000, lowest first"),
            Param(
                "Conditions",
                "structures",
                required=True,
                help="Field=path-pattern,Values=['/api/*'] | Field=host-header,Values=[…] …",
            ),
            Param("Actions", "structures", required=True, help=ACTIONS_HELP),
        ),
        "Add a listener rule (path, host, header, method conditions).",
    ),
    Verb(
        "DescribeRules",
        (Param("ListenerArn"), Param("RuleArns", "strings")),
        "A listener's rules by priority, the default rule last.",
    ),
    Verb("DeleteRule", (Param("RuleArn", required=True),), "Delete a rule."),
    Verb("RegisterTargets", (TARGET_GROUP, TARGETS), "Register instances or IP addresses."),
    Verb(
        "DeregisterTargets",
        (TARGET_GROUP, TARGETS),
        "Deregister targets; they drain for the deregistration delay.",
    ),
    Verb(
        "DescribeTargetHealth",
        (TARGET_GROUP, Param("Targets", "structures")),
        "Each target's state (initial, healthy, unhealthy, draining, unused) and reason.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(
        commands, "elbv2", VERBS, help="Elastic Load Balancing: ALB and NLB on HAProxy"
    )
