#!/usr/bin/env python3
"""Point each stable image name (``barista/<key>:latest``) at an official or a local image.

Compose and the tests only use the stable names, so they run one code path whichever source
an image came from. The catalog (``images/catalog.toml``) is the one place that names images.

    python images/build.py                    # every image, BARISTA_IMAGE_SOURCE or auto
    python images/build.py --source local kafka redis
    python images/build.py node               # an on-request image (the catalog's [cluster])

A second run reuses what the first made: each stable image carries a fingerprint label of
what it was made from, and a matching fingerprint means nothing is pulled or built again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent
REPO_DIR = IMAGES_DIR.parent
CACHE_DIR = REPO_DIR / ".cache" / "images"
CATALOG_PATH = IMAGES_DIR / "catalog.toml"

SOURCES = ("auto", "official", "local")
SOURCE_ENV = "BARISTA_IMAGE_SOURCE"
LABEL_SOURCE = "barista.image.source"
LABEL_FINGERPRINT = "barista.image.fingerprint"
LABEL_UPSTREAM = "barista.image.upstream"
PULL_TIMEOUT_SECONDS = 600
# Manylinux tags a Debian 13 / python:3.13-slim image can load (glibc 2.41); pip wants them
# spelled out when it downloads for another interpreter than its own.
MANYLINUX_TAGS = ("manylinux_2_28", "manylinux_2_17", "manylinux2014")


class ImageBuildError(RuntimeError):
    """An image could not be pulled or built; the message says what to do."""


@dataclass(frozen=True)
class ImageSpec:
    """One infrastructure image: where the official one lives and how to build the local one."""

    key: str
    official: str
    version: str
    recipe: Path
    maven: Path | None = None
    go: str | None = None  # a Go main package the local build compiles into its context

    @property
    def stable(self) -> str:
        return stable_name(self.key)


@dataclass(frozen=True)
class ServiceSpec:
    image: str
    dockerfile: Path
    lock: Path
    python_version: str


@dataclass(frozen=True)
class Catalog:
    base_image: str
    suite: str
    mirror: str
    images: dict[str, ImageSpec]
    service: ServiceSpec
    # Made only when named (``make images-cluster``): the default run stays as long as it was.
    on_request: dict[str, ImageSpec]


@dataclass(frozen=True)
class Outcome:
    name: str
    source: str
    upstream: str
    action: str
    seconds: float


def stable_name(key: str) -> str:
    return f"barista/{key}:latest"


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """Read the catalog, naming the offending field when one is missing or mistyped."""
    raw = tomllib.loads(path.read_text())
    try:
        base = raw["base"]
        images = {key: _image_spec(path, key, entry) for key, entry in raw["images"].items()}
        on_request = {
            key: _image_spec(path, key, entry) for key, entry in raw.get("cluster", {}).items()
        }
        service = raw["service"]
        return Catalog(
            base_image=str(base["image"]),
            suite=str(base["suite"]),
            mirror=str(base["mirror"]),
            images=images,
            service=ServiceSpec(
                image=str(service["image"]),
                dockerfile=path.parent / str(service["dockerfile"]),
                lock=path.parent / str(service["lock"]),
                python_version=str(service["python_version"]),
            ),
            on_request=on_request,
        )
    except KeyError as missing:
        raise ImageBuildError(f"{path}: missing field {missing}") from None


def _image_spec(path: Path, key: str, entry: dict[str, object]) -> ImageSpec:
    return ImageSpec(
        key=key,
        official=str(entry["official"]),
        version=str(entry["version"]),
        recipe=path.parent / str(entry["recipe"]),
        maven=path.parent / str(entry["maven"]) if "maven" in entry else None,
        go=str(entry["go"]) if "go" in entry else None,
    )


def requested_source(cli_value: str | None, environ: dict[str, str]) -> str:
    """The flag wins over BARISTA_IMAGE_SOURCE; anything but auto/official/local is an error."""
    value = (cli_value or environ.get(SOURCE_ENV) or "auto").strip().lower()
    if value not in SOURCES:
        raise ImageBuildError(
            f"{SOURCE_ENV}={value!r} is not one of {', '.join(SOURCES)}",
        )
    return value


def fingerprint(source: str, spec: ImageSpec, base_id: str = "") -> str:
    """What an image was made from; equal fingerprints mean the image need not be made again."""
    material = {"source": source, "official": spec.official, "version": spec.version}
    if source == "local":
        material |= {"recipe": spec.recipe.read_text(), "base": base_id}
        if spec.maven is not None:
            material["maven"] = spec.maven.read_text()
        if spec.go is not None:
            material["go"] = f"{spec.go}@v{spec.version}"
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def _log(message: str) -> None:
    print(f"images: {message}", file=sys.stderr, flush=True)


def _run(args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def image_labels(ref: str) -> dict[str, str] | None:
    """The labels of a local image, or None when Docker has no image of that name."""
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    return json.loads(result.stdout) or {}


def image_exists(ref: str) -> bool:
    return image_labels(ref) is not None


def image_id(ref: str) -> str:
    return _run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True
    ).stdout.strip()


def try_pull(ref: str) -> bool:
    _log(f"pulling {ref}")
    try:
        result = subprocess.run(
            ["docker", "pull", "--quiet", ref],
            capture_output=True,
            text=True,
            timeout=PULL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _log(f"pulling {ref} timed out after {PULL_TIMEOUT_SECONDS}s")
        return False
    if result.returncode != 0:
        _log(f"no registry answered for {ref}: {result.stderr.strip().splitlines()[-1:]}")
    return result.returncode == 0


def _labels_args(labels: dict[str, str]) -> list[str]:
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]


def tag_official(spec: ImageSpec, print_fingerprint: str) -> None:
    """Give the pulled image its stable name, with the labels that record where it came from."""
    labels = {
        LABEL_SOURCE: "official",
        LABEL_FINGERPRINT: print_fingerprint,
        LABEL_UPSTREAM: spec.official,
    }
    _run(
        ["docker", "build", "--quiet", "-t", spec.stable, *_labels_args(labels), "-"],
        input=f"FROM {spec.official}\n",
        capture_output=True,
    )


@contextmanager
def _scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ensure_base(catalog: Catalog) -> str:
    """The debootstrap-made Debian base, imported into Docker once and reused after that."""
    if image_exists(catalog.base_image):
        return image_id(catalog.base_image)
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is needed to build images without a registry; "
            "run images/ensure-engine.sh as root (it installs it) or `apt-get install debootstrap`",
        )
    _log(f"making the {catalog.suite} base with debootstrap (about half a minute)")
    with _scratch_dir("barista-rootfs-") as root:
        _run(
            ["debootstrap", "--variant=minbase", catalog.suite, str(root), catalog.mirror],
            capture_output=True,
        )
        # Services must not start while packages install in a build; keep images small.
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        (root / "etc/apt/apt.conf.d/90barista").write_text(
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
            'Acquire::Languages "none";\n',
        )
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        _run(
            ["docker", "import", "--change", 'CMD ["bash"]', "-", catalog.base_image],
            stdin=tar.stdout,
            capture_output=True,
        )
        if tar.wait() != 0:
            raise ImageBuildError("tar of the debootstrap root failed")
    return image_id(catalog.base_image)


def fetch_kafka_libs(spec: ImageSpec, context: Path) -> None:
    """Copy the broker jar and its runtime dependencies from Maven Central into the context.

    The libs are fetched again when the version or the Maven file changes (a dependency added
    to it, such as the tools' jar, must reach the image)."""
    if spec.maven is None:
        raise ImageBuildError(f"{spec.key}: the catalog names no maven file")
    libs = context / "libs"
    marker = libs / ".complete"
    wanted = libs_marker(spec.version, spec.maven.read_text())
    if marker.is_file() and marker.read_text() == wanted:
        return
    if shutil.which("mvn") is None:
        raise ImageBuildError("Maven (mvn) is needed to fetch Apache Kafka from Maven Central")
    shutil.rmtree(libs, ignore_errors=True)
    _log(f"fetching Apache Kafka {spec.version} and its dependencies with Maven")
    _run(
        [
            "mvn", "-q", "-B", "-f", str(spec.maven), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-Dkafka.version={spec.version}",
            f"-DoutputDirectory={libs}",
        ],
    )  # fmt: skip
    marker.write_text(wanted)


def libs_marker(version: str, maven_file: str) -> str:
    """What a complete libs directory was fetched for: the version and the Maven file's hash."""
    return f"{version} {hashlib.sha256(maven_file.encode()).hexdigest()[:16]}"


def compile_go_program(spec: ImageSpec, context: Path) -> None:
    """Build the catalog's Go main package, at the catalog's version, from the Go module proxy
    into ``context/bin`` as a static binary (no registry serves the upstream image here, and
    no Debian package has it)."""
    if spec.go is None:
        raise ImageBuildError(f"{spec.key}: the catalog names no Go package")
    binaries = context / "bin"
    marker = binaries / ".complete"
    wanted = f"{spec.go}@v{spec.version}"
    if marker.is_file() and marker.read_text() == wanted:
        return
    if shutil.which("go") is None:
        raise ImageBuildError(f"a Go toolchain (go) is needed to build {wanted}")
    shutil.rmtree(binaries, ignore_errors=True)
    binaries.mkdir(parents=True)
    _log(f"compiling {wanted} from the Go module proxy")
    environ = {**os.environ, "CGO_ENABLED": "0", "GOBIN": str(binaries), "GOFLAGS": "-trimpath"}
    _run(["go", "install", "-ldflags=-s -w", wanted], env=environ)
    marker.write_text(wanted)


def build_local(spec: ImageSpec, base_image: str, print_fingerprint: str) -> None:
    context = CACHE_DIR / spec.key
    context.mkdir(parents=True, exist_ok=True)
    if spec.maven is not None:
        fetch_kafka_libs(spec, context)
    if spec.go is not None:
        compile_go_program(spec, context)
    labels = {
        LABEL_SOURCE: "local",
        LABEL_FINGERPRINT: print_fingerprint,
        LABEL_UPSTREAM: f"{spec.key} {spec.version} (local build)",
    }
    _log(f"building {spec.stable} from {spec.recipe.relative_to(REPO_DIR)}")
    _run(
        [
            "docker", "build", "--quiet", "-f", str(spec.recipe),
            "--build-arg", f"BASE_IMAGE={base_image}",
            *_labels_args(labels), "-t", spec.stable, str(context),
        ],
        capture_output=True,
    )  # fmt: skip


def realise(spec: ImageSpec, source: str, catalog: Catalog) -> Outcome:
    """Make spec.stable exist, from the requested source, reusing a matching image."""
    started = time.monotonic()

    def outcome(made_from: str, action: str) -> Outcome:
        upstream = spec.official if made_from == "official" else f"Debian {catalog.suite} / local"
        return Outcome(spec.stable, made_from, upstream, action, time.monotonic() - started)

    current = image_labels(spec.stable) or {}
    official_print = fingerprint("official", spec)
    if source in ("auto", "official") and current.get(LABEL_FINGERPRINT) == official_print:
        return outcome("official", "reused")
    if source == "auto" and current.get(LABEL_SOURCE) == "local":
        base_id = image_id(catalog.base_image) if image_exists(catalog.base_image) else ""
        if current.get(LABEL_FINGERPRINT) == fingerprint("local", spec, base_id):
            return outcome("local", "reused")
    if source in ("auto", "official"):
        if try_pull(spec.official):
            tag_official(spec, official_print)
            return outcome("official", "pulled")
        if source == "official":
            raise ImageBuildError(
                f"{spec.official} could not be pulled and {SOURCE_ENV}=official; "
                f"use {SOURCE_ENV}=auto or local to build it without a registry",
            )
    base_id = ensure_base(catalog)
    local_print = fingerprint("local", spec, base_id)
    if current.get(LABEL_FINGERPRINT) == local_print:
        return outcome("local", "reused")
    build_local(spec, catalog.base_image, local_print)
    return outcome("local", "built")


def wheel_platforms(machine: str) -> list[str]:
    return [f"{tag}_{machine}" for tag in MANYLINUX_TAGS]


def docker_architecture() -> str:
    """The engine's CPU architecture, for which the wheelhouse is downloaded."""
    arch = _run(
        ["docker", "info", "--format", "{{.Architecture}}"], capture_output=True
    ).stdout.strip()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def build_wheelhouse(service: ServiceSpec, machine: str) -> Path:
    """Download the locked wheels for the image's interpreter, once per lock and platform."""
    lock_hash = hashlib.sha256(service.lock.read_bytes()).hexdigest()[:12]
    wheelhouse = (
        CACHE_DIR.parent / "wheelhouse" / f"cp{service.python_version}-{machine}-{lock_hash}"
    )
    marker = wheelhouse / ".complete"
    if marker.is_file():
        return wheelhouse
    _log(f"downloading the wheelhouse for Python {service.python_version} on {machine}")
    wheelhouse.mkdir(parents=True, exist_ok=True)
    abi = "cp" + service.python_version.replace(".", "")
    platform_args = [arg for tag in wheel_platforms(machine) for arg in ("--platform", tag)]
    _run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", *platform_args,
            "--python-version", service.python_version, "--implementation", "cp",
            "--abi", abi, "--abi", "abi3", "--abi", "none",
            "-r", str(service.lock), "-d", str(wheelhouse),
        ],
    )  # fmt: skip
    marker.write_text(lock_hash)
    return wheelhouse


def build_project_wheel(dist: Path) -> None:
    shutil.rmtree(dist, ignore_errors=True)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(dist),
            str(REPO_DIR),
        ],
    )


def build_service(catalog: Catalog) -> Outcome:
    """Build the project's image; Docker's layer cache keeps a rebuild to the changed layers."""
    started = time.monotonic()
    service = catalog.service
    context = CACHE_DIR / "service"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    wheelhouse = build_wheelhouse(service, docker_architecture())
    staged = context / "wheelhouse"
    staged.mkdir()
    for wheel in wheelhouse.glob("*.whl"):
        os.link(wheel, staged / wheel.name)
    shutil.copy(service.lock, context / "requirements.lock")
    build_project_wheel(context / "dist")
    before = image_id(service.image) if image_exists(service.image) else ""
    _log(f"building {service.image}")
    _run(
        [
            "docker", "build", "--quiet", "-f", str(service.dockerfile),
            "--build-arg", f"PYTHON_IMAGE={stable_name('python')}",
            "--label", f"{LABEL_SOURCE}=project", "-t", service.image, str(context),
        ],
        capture_output=True,
    )  # fmt: skip
    action = "reused" if image_id(service.image) == before else "built"
    return Outcome(service.image, "project", "this repository", action, time.monotonic() - started)


def print_table(outcomes: Sequence[Outcome], total: float) -> None:
    rows = [("image", "source", "from", "action", "seconds")]
    rows += [(o.name, o.source, o.upstream, o.action, f"{o.seconds:.1f}") for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"total {total:.1f}s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--source", choices=SOURCES, help=f"overrides {SOURCE_ENV} (default auto)")
    parser.add_argument("keys", nargs="*", help="images to make (default: all, then the service)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        catalog = load_catalog()
        source = requested_source(args.source, dict(os.environ))
        specs = {**catalog.images, **catalog.on_request}
        known = [*specs, "service"]
        unknown = sorted(set(args.keys) - set(known))
        if unknown:
            raise ImageBuildError(f"unknown image {', '.join(unknown)}; known: {', '.join(known)}")
        keys = args.keys or [*catalog.images, "service"]
        outcomes = [realise(specs[key], source, catalog) for key in keys if key != "service"]
        if "service" in keys:
            if "python" not in keys:
                outcomes.append(realise(catalog.images["python"], source, catalog))
            outcomes.append(build_service(catalog))
    except ImageBuildError as error:
        print(f"images: error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "").strip()
        print(f"images: error: {' '.join(map(str, error.cmd))} failed\n{detail}", file=sys.stderr)
        return 1
    print_table(outcomes, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
