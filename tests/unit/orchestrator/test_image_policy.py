"""Which images the orchestrator runs: the catalog's, and what BARISTA_ALLOWED_IMAGES adds."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from orchestrator.runtime.images import (
    CATALOG_REPOSITORIES,
    ImageNotAllowed,
    ImagePolicy,
    repository,
)

CATALOG = Path(__file__).parents[3] / "images" / "catalog.toml"


def test_the_catalogs_repositories_are_the_ones_allowed():
    catalog = tomllib.loads(CATALOG.read_text())
    named = {f"barista/{key}" for key in catalog["images"]}
    named.add(repository(catalog["service"]["image"]))
    assert named == CATALOG_REPOSITORIES


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("barista/service:latest", "barista/service"),
        ("barista/service", "barista/service"),
        ("localhost:5000/team/app:1.2", "localhost:5000/team/app"),
        ("nginx@sha256:" + "a" * 64, "nginx"),
    ],
)
def test_the_repository_of_an_image(image: str, name: str):
    assert repository(image) == name


def test_any_tag_of_the_projects_images_runs_and_nothing_else_by_default():
    policy = ImagePolicy.from_environ({})
    assert policy.allows("barista/service:2026-12-04")
    assert policy.allows("barista/python:latest")
    for image in ("alpine:latest", "barista/service-evil:latest", "evil/barista/service:latest"):
        assert not policy.allows(image), image
    with pytest.raises(ImageNotAllowed, match="BARISTA_ALLOWED_IMAGES"):
        policy.check("alpine:latest")


def test_the_setting_adds_names_and_patterns():
    policy = ImagePolicy.from_environ({"BARISTA_ALLOWED_IMAGES": " nginx:1.27 , myorg/* "})
    assert policy.allows("nginx:1.27")
    assert not policy.allows("nginx:1.28")
    assert policy.allows("myorg/api:3")
    assert not policy.allows("otherorg/api:3")
