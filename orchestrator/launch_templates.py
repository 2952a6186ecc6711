"""EC2 launch templates: immutable numbered versions of how to start an instance.

A template never changes a version in place; editing it creates version N+1, and the *default*
version moves only when asked. Groups name a version as a number, ``$Latest`` or ``$Default``,
and resolve it each time they launch, which is why a group pinned to ``$Latest`` picks up a new
version without being updated itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.errors import AwsError


@dataclass(frozen=True)
class LaunchTemplateData:
    """One version of a launch template: how to start an instance (EC2's RunInstances data)."""

    image: str
    command: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    cpus: float | None = None  # Docker --cpus
    memory_mib: int | None = None  # Docker --memory
    network: str | None = None
    stop_timeout: float = 30.0  # ECS stopTimeout default: SIGTERM, then SIGKILL after this


LATEST = "$Latest"
DEFAULT = "$Default"
MASK = "****"
# An environment variable whose name contains one of these holds a secret.
SECRET_NAME_PARTS = ("PASSWORD", "SECRET", "TOKEN", "KEY")
# The password of a URL's userinfo: scheme://user:password@host
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^@/\s]*@")


class LaunchTemplateError(AwsError):
    """EC2's refusals about launch templates (the codes EC2's API returns)."""


def launch_template_id(name: str) -> str:
    """A stable ``lt-`` id derived from the name, so ids survive restarts without a counter."""
    return "lt-" + hashlib.sha256(name.encode()).hexdigest()[:17]


@dataclass(frozen=True)
class LaunchTemplate:
    """A launch template and all its versions; every change returns a new value."""

    launch_template_name: str
    versions: Mapping[int, LaunchTemplateData]
    default_version_number: int = 1
    launch_template_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.launch_template_id:
            object.__setattr__(
                self, "launch_template_id", launch_template_id(self.launch_template_name)
            )

    @property
    def latest_version_number(self) -> int:
        return max(self.versions)

    def create_version(self, data: LaunchTemplateData) -> LaunchTemplate:
        """Add version latest+1; the default stays where it was, as in EC2."""
        versions = dict(self.versions)
        versions[self.latest_version_number + 1] = data
        return replace(self, versions=versions)

    def with_default_version(self, version: int | str) -> LaunchTemplate:
        """ModifyLaunchTemplate --default-version: point ``$Default`` at an existing version."""
        number, _ = self.resolve(version)
        return replace(self, default_version_number=number)

    def resolve(self, version: int | str | None = None) -> tuple[int, LaunchTemplateData]:
        """Turn ``$Latest``, ``$Default``, a number (or None, meaning ``$Default``) into data."""
        if version is None or version == DEFAULT:
            number = self.default_version_number
        elif version == LATEST:
            number = self.latest_version_number
        elif isinstance(version, int) or version.isdigit():
            number = int(version)
        else:
            raise LaunchTemplateError(
                "InvalidLaunchTemplateId.VersionNotFound",
                f"The specified version {version!r} is not valid; use a version number, "
                f"{LATEST} or {DEFAULT}.",
            )
        if number not in self.versions:
            raise LaunchTemplateError(
                "InvalidLaunchTemplateId.VersionNotFound",
                f"Could not find launch template version {number} for launch template "
                f"{self.launch_template_id}.",
            )
        return number, self.versions[number]


def create_launch_template(name: str, data: LaunchTemplateData) -> LaunchTemplate:
    """CreateLaunchTemplate: version 1, which is also the default."""
    return LaunchTemplate(launch_template_name=name, versions={1: data})


def not_found(name: str) -> LaunchTemplateError:
    """The error EC2 returns when a template name is unknown."""
    return LaunchTemplateError(
        "InvalidLaunchTemplateName.NotFoundException",
        f"The specified launch template, with template name {name}, does not exist.",
    )


def already_exists(name: str) -> LaunchTemplateError:
    """The error EC2 returns when CreateLaunchTemplate reuses a name."""
    return LaunchTemplateError(
        "InvalidLaunchTemplateName.AlreadyExistsException",
        f"Launch template name already in use: {name}.",
    )


def find(templates: Mapping[str, LaunchTemplate], name: str) -> LaunchTemplate:
    """Look a template up by name, refusing an unknown one as EC2 does."""
    try:
        return templates[name]
    except KeyError:
        raise not_found(name) from None


def find_template(
    templates: Mapping[str, LaunchTemplate], name: str | None, template_id: str | None
) -> LaunchTemplate:
    """A template by LaunchTemplateName or LaunchTemplateId (exactly one), as EC2 asks."""
    if (name is None) == (template_id is None):
        raise LaunchTemplateError(
            "MissingParameter" if name is None else "InvalidParameterCombination",
            "The request must contain exactly one of the parameters LaunchTemplateName or "
            "LaunchTemplateId.",
        )
    if name is not None:
        return find(templates, name)
    for template in templates.values():
        if template.launch_template_id == template_id:
            return template
    raise LaunchTemplateError(
        "InvalidLaunchTemplateId.NotFound",
        f"The specified launch template, with template ID {template_id}, does not exist.",
    )


def redact(text: str) -> str:
    """``amqp://barista:s3cret@rabbitmq:5672`` → ``amqp://barista:****@rabbitmq:5672``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)


def redacted_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """A variable named like a secret (PASSWORD, SECRET, TOKEN, KEY) masked whole; a URL's
    password masked in every other one."""
    return {
        name: MASK if any(part in name.upper() for part in SECRET_NAME_PARTS) else redact(value)
        for name, value in environment.items()
    }


def redacted(data: LaunchTemplateData) -> LaunchTemplateData:
    """The version as describe calls print it: secrets masked in the environment
    (:func:`redacted_environment`) and URL passwords in the command's arguments. The store
    keeps the real values, which launches need."""
    return replace(
        data,
        environment=redacted_environment(data.environment),
        command=tuple(redact(arg) for arg in data.command),
    )


def encode_user_data(container: Mapping[str, Any]) -> str:
    """The container document as EC2 UserData: base64 of its JSON."""
    return base64.b64encode(json.dumps(container, sort_keys=True).encode()).decode()


def decode_user_data(text: str) -> dict[str, Any]:
    """UserData back to the container document; EC2's ``InvalidUserData.Malformed`` if it is
    not base64 of a JSON object."""
    try:
        document = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        document = None
    if not isinstance(document, dict):
        raise AwsError(
            "InvalidUserData.Malformed",
            "LaunchTemplateData.UserData must be base64 of a JSON object with the container's "
            "Command, Environment, Network, StopTimeout, Cpus, MemoryMiB.",
        )
    return document
