"""``barista ec2 …``: launch template verbs shaped like ``aws ec2``'s.

``--launch-template-data`` is EC2's LaunchTemplateData (JSON or ``file://``): ``ImageId`` is
the Docker image, ``InstanceType`` a t3 size, and ``BaristaContainer`` holds Command,
Environment, Network and StopTimeout (``orchestrator.api._launch_data``).
"""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

NAME = Param("LaunchTemplateName", help="the template's name")
TEMPLATE_ID = Param("LaunchTemplateId", help="or its lt- id")

VERBS = (
    Verb(
        "CreateLaunchTemplate",
        (
            Param("LaunchTemplateName", required=True),
            Param(
                "LaunchTemplateData", "structure", required=True, help="JSON or file://data.json"
            ),
        ),
        "Create a launch template; its first version is the default.",
    ),
    Verb(
        "CreateLaunchTemplateVersion",
        (
            NAME,
            TEMPLATE_ID,
            Param("SourceVersion", help="inherit what LaunchTemplateData does not give"),
            Param("LaunchTemplateData", "structure", required=True),
        ),
        "Add a version (latest + 1); the default version stays.",
    ),
    Verb(
        "ModifyLaunchTemplate",
        (NAME, TEMPLATE_ID, Param("DefaultVersion", required=True)),
        "Point $Default at another version.",
    ),
    Verb(
        "DescribeLaunchTemplates",
        (
            Param("LaunchTemplateNames", "strings"),
            Param("LaunchTemplateIds", "strings"),
            Param("MaxResults", "integer"),
        ),
        "Launch templates with their default and latest versions.",
    ),
    Verb(
        "DescribeLaunchTemplateVersions",
        (
            NAME,
            TEMPLATE_ID,
            Param("Versions", "strings", help="numbers, $Latest, $Default"),
            Param("MinVersion", "integer"),
            Param("MaxVersion", "integer"),
            Param("MaxResults", "integer"),
        ),
        "Versions with their LaunchTemplateData, newest first.",
    ),
    Verb(
        "DeleteLaunchTemplate",
        (NAME, TEMPLATE_ID),
        "Delete a template and all its versions (refused while a group uses it).",
    ),
    Verb(
        "DescribeSpotPriceHistory",
        (
            Param("InstanceTypes", "strings"),
            Param("AvailabilityZone"),
            Param("StartTime", help="ISO 8601"),
            Param("EndTime", help="ISO 8601"),
            Param("MaxResults", "integer"),
        ),
        "The Spot market's price changes, newest first.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(commands, "ec2", VERBS, help="EC2 launch templates and Spot")
