"""The image catalog and the choices images/build.py makes from it (no Docker needed)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

IMAGES_DIR = Path(__file__).resolve().parents[3] / "images"


def _load_build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("barista_images_build", IMAGES_DIR / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


@pytest.fixture(scope="module")
def catalog():
    return build.load_catalog()


def test_catalog_names_every_part_the_design_needs(catalog):
    assert set(catalog.images) == {"kafka", "rabbitmq", "redis", "haproxy", "toxiproxy", "python"}
    assert catalog.service.image == "barista/service:latest"


@pytest.mark.parametrize("key", ["kafka", "rabbitmq", "redis", "haproxy", "toxiproxy", "python"])
def test_official_and_local_sources_share_the_major_and_minor_version(catalog, key):
    spec = catalog.images[key]
    official_tag = spec.official.rsplit(":", 1)[1]
    major_minor = ".".join(spec.version.split(".")[:2])
    assert re.match(rf"{re.escape(major_minor)}(\.|-|$)", official_tag), (
        spec.official,
        spec.version,
    )


def test_every_local_recipe_exists_and_builds_from_the_base_argument(catalog):
    for spec in catalog.images.values():
        text = spec.recipe.read_text()
        assert "ARG BASE_IMAGE" in text
        assert "FROM ${BASE_IMAGE}" in text


def test_python_base_matches_the_service_interpreter(catalog):
    assert catalog.images["python"].version == catalog.service.python_version
    assert catalog.images["python"].official.startswith(f"python:{catalog.service.python_version}-")


def test_kafka_is_a_4x_release_fetched_from_maven(catalog):
    kafka = catalog.images["kafka"]
    assert kafka.version.startswith("4.")
    assert kafka.maven is not None
    assert "<artifactId>kafka_2.13</artifactId>" in kafka.maven.read_text()


def test_the_kafka_image_carries_the_perf_tools_as_the_official_one_does(catalog):
    """make bench-adapters runs kafka-producer-perf-test from the image: kafka-tools' jar."""
    assert "<artifactId>kafka-tools</artifactId>" in catalog.images["kafka"].maven.read_text()


def test_kafka_libs_are_fetched_again_when_the_maven_file_changes():
    first = build.libs_marker("4.4.0", "<project>a</project>")
    assert first == build.libs_marker("4.4.0", "<project>a</project>")
    assert first != build.libs_marker("4.4.0", "<project>b</project>")
    assert first != build.libs_marker("4.3.0", "<project>a</project>")


def test_toxiproxy_is_compiled_from_its_go_module_at_the_catalog_version(
    catalog, monkeypatch, tmp_path
):
    toxiproxy = catalog.images["toxiproxy"]
    assert toxiproxy.go == "github.com/Shopify/toxiproxy/v2/cmd/server"
    assert toxiproxy.official.endswith(f":{toxiproxy.version}")
    runs = []
    monkeypatch.setattr(build, "_run", lambda args, **kwargs: runs.append((args, kwargs)))
    monkeypatch.setattr(build.shutil, "which", lambda name: f"/usr/bin/{name}")
    build.compile_go_program(toxiproxy, tmp_path)
    build.compile_go_program(toxiproxy, tmp_path)  # done once: the marker says so
    [(args, kwargs)] = runs
    assert args[-1] == f"{toxiproxy.go}@v{toxiproxy.version}"
    assert kwargs["env"]["CGO_ENABLED"] == "0"


def test_missing_catalog_field_is_named(tmp_path):
    broken = tmp_path / "catalog.toml"
    broken.write_text('[base]\nimage = "x"\nsuite = "trixie"\n[images]\n[service]\nimage = "y"\n')
    with pytest.raises(build.ImageBuildError, match="mirror"):
        build.load_catalog(broken)


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (None, {}, "auto"),
        (None, {"BARISTA_IMAGE_SOURCE": "LOCAL"}, "local"),
        ("official", {"BARISTA_IMAGE_SOURCE": "local"}, "official"),
    ],
)
def test_source_comes_from_the_flag_then_the_environment(flag, environ, expected):
    assert build.requested_source(flag, environ) == expected


def test_an_unknown_source_is_refused_with_the_known_ones():
    with pytest.raises(build.ImageBuildError, match="auto, official, local"):
        build.requested_source(None, {"BARISTA_IMAGE_SOURCE": "dockerhub"})


def test_fingerprint_changes_with_the_recipe_and_the_base(catalog, tmp_path):
    spec = catalog.images["redis"]
    recipe = tmp_path / "local.Dockerfile"
    recipe.write_text(spec.recipe.read_text())
    copy = build.ImageSpec(spec.key, spec.official, spec.version, recipe)
    first = build.fingerprint("local", copy, "sha256:base-1")
    assert build.fingerprint("local", copy, "sha256:base-1") == first
    assert build.fingerprint("local", copy, "sha256:base-2") != first
    recipe.write_text(recipe.read_text() + "RUN true\n")
    assert build.fingerprint("local", copy, "sha256:base-1") != first
    assert build.fingerprint("official", copy) != first


def test_wheel_platforms_cover_the_manylinux_tags_for_the_engine_arch():
    assert build.wheel_platforms("aarch64") == [
        "manylinux_2_28_aarch64",
        "manylinux_2_17_aarch64",
        "manylinux2014_aarch64",
    ]


class FakeDocker:
    """Stands in for the docker commands realise() runs, recording what it was asked to do."""

    def __init__(self, monkeypatch, *, registry_answers: bool, labels: dict[str, str] | None):
        self.registry_answers = registry_answers
        self.labels = labels
        self.calls: list[str] = []
        monkeypatch.setattr(build, "image_labels", lambda ref: self.labels)
        monkeypatch.setattr(build, "image_exists", lambda ref: True)
        monkeypatch.setattr(build, "image_id", lambda ref: "sha256:base")
        monkeypatch.setattr(build, "ensure_base", lambda catalog: "sha256:base")
        monkeypatch.setattr(build, "try_pull", self._pull)
        monkeypatch.setattr(build, "tag_official", lambda spec, fp: self.calls.append("tag"))
        monkeypatch.setattr(build, "build_local", lambda spec, base, fp: self.calls.append("build"))

    def _pull(self, ref: str) -> bool:
        self.calls.append("pull")
        return self.registry_answers


def test_auto_builds_locally_when_no_registry_answers(monkeypatch, catalog):
    docker = FakeDocker(monkeypatch, registry_answers=False, labels=None)
    outcome = build.realise(catalog.images["redis"], "auto", catalog)
    assert (outcome.source, outcome.action) == ("local", "built")
    assert docker.calls == ["pull", "build"]


def test_auto_uses_the_official_image_when_the_pull_works(monkeypatch, catalog):
    docker = FakeDocker(monkeypatch, registry_answers=True, labels=None)
    outcome = build.realise(catalog.images["redis"], "auto", catalog)
    assert (outcome.source, outcome.action) == ("official", "pulled")
    assert docker.calls == ["pull", "tag"]


def test_official_without_a_registry_fails_and_says_how_to_build_locally(monkeypatch, catalog):
    FakeDocker(monkeypatch, registry_answers=False, labels=None)
    with pytest.raises(build.ImageBuildError, match="BARISTA_IMAGE_SOURCE=auto or local"):
        build.realise(catalog.images["redis"], "official", catalog)


def test_local_never_tries_the_registry(monkeypatch, catalog):
    docker = FakeDocker(monkeypatch, registry_answers=True, labels=None)
    outcome = build.realise(catalog.images["haproxy"], "local", catalog)
    assert outcome.source == "local"
    assert docker.calls == ["build"]


def test_a_matching_local_image_is_reused_without_pulling(monkeypatch, catalog):
    spec = catalog.images["kafka"]
    labels = {
        build.LABEL_SOURCE: "local",
        build.LABEL_FINGERPRINT: build.fingerprint("local", spec, "sha256:base"),
    }
    docker = FakeDocker(monkeypatch, registry_answers=True, labels=labels)
    outcome = build.realise(spec, "auto", catalog)
    assert (outcome.source, outcome.action) == ("local", "reused")
    assert docker.calls == []


def test_forcing_official_replaces_a_local_image(monkeypatch, catalog):
    spec = catalog.images["kafka"]
    labels = {
        build.LABEL_SOURCE: "local",
        build.LABEL_FINGERPRINT: build.fingerprint("local", spec, "sha256:base"),
    }
    docker = FakeDocker(monkeypatch, registry_answers=True, labels=labels)
    assert build.realise(spec, "official", catalog).action == "pulled"
    assert docker.calls == ["pull", "tag"]


def _record_realised(monkeypatch) -> list[str]:
    made: list[str] = []

    def realise(spec, source, catalog):
        made.append(spec.key)
        return build.Outcome(spec.stable, "local", "", "reused", 0.0)

    monkeypatch.setattr(build, "realise", realise)
    monkeypatch.setattr(
        build,
        "build_service",
        lambda catalog: build.Outcome("barista/service:latest", "project", "", "reused", 0.0),
    )
    return made


def test_the_swarm_node_image_is_made_only_when_named(monkeypatch, catalog):
    assert set(catalog.on_request) == {"node"}
    assert catalog.on_request["node"].recipe.is_file()
    made = _record_realised(monkeypatch)
    assert build.main([]) == 0
    assert "node" not in made
    assert build.main(["node"]) == 0
    assert made[-1] == "node"


def test_the_swarm_node_image_matches_its_official_engine_version(catalog):
    spec = catalog.on_request["node"]
    assert spec.official == f"docker:{spec.version}-dind"
    assert "FROM ${BASE_IMAGE}" in spec.recipe.read_text()
