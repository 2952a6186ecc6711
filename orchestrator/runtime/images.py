"""Which images the orchestrator may run: the project's own, and those a setting allows.

A launch template's ``ImageId`` and an ECS container's ``image`` are anything a caller writes,
and the orchestrator runs what they name. It runs only Barista's own images (the repositories
images/catalog.toml names, any tag: they are built here or pulled from their official source)
unless ``BARISTA_ALLOWED_IMAGES`` lists more: comma-separated names or shell-style patterns
(``myorg/*``, ``nginx:1.27``), matched against the image as written and against its
repository. AWS refuses an AMI it does not know at launch, not when the template is written,
and so does Barista: the launch fails with EC2's ``InvalidAMIID.NotFound`` (an Auto Scaling
activity ``Failed``), an ECS task stops with ``CannotPullContainerError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

ALLOWED_IMAGES_VARIABLE = "BARISTA_ALLOWED_IMAGES"
# images/catalog.toml's images and its service image (a unit test keeps the two in step).
CATALOG_REPOSITORIES = frozenset(
    {
        "barista/kafka",
        "barista/rabbitmq",
        "barista/redis",
        "barista/haproxy",
        "barista/toxiproxy",
        "barista/python",
        "barista/service",
    }
)


class ImageNotAllowed(Exception):
    """The image is not one the orchestrator may run; the message says how to allow it."""


def repository(image: str) -> str:
    """``barista/service`` of ``barista/service:latest`` or ``…@sha256:…``."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


@dataclass(frozen=True)
class ImagePolicy:
    """The catalog's repositories plus ``patterns``."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> ImagePolicy:
        raw = environ.get(ALLOWED_IMAGES_VARIABLE, "")
        return cls(tuple(part.strip() for part in raw.split(",") if part.strip()))

    def allows(self, image: str) -> bool:
        name = repository(image)
        if name in CATALOG_REPOSITORIES:
            return True
        return any(fnmatchcase(image, p) or fnmatchcase(name, p) for p in self.patterns)

    def check(self, image: str) -> None:
        """Raise ``ImageNotAllowed`` unless ``image`` may run."""
        if not self.allows(image):
            raise ImageNotAllowed(
                f"The image '{image}' is not one Barista runs: its own images "
                f"({', '.join(sorted(CATALOG_REPOSITORIES))}) and those "
                f"{ALLOWED_IMAGES_VARIABLE} lists (comma-separated names or patterns)."
            )
