"""Every module imports on its own, first, in a fresh interpreter: what a command that imports
it lazily does (``barista demo apply`` imports ``orchestrator.demo.stack`` first). A test run
imports modules in whatever order the tests do, which hides import cycles that only bite a
user."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import broker_adapters
import orchestrator
import services

PACKAGES = (broker_adapters, orchestrator, services)


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.endswith(".__main__"):  # runs a program, not a module
                names.append(info.name)
    return sorted(names)


def _import_alone(name: str) -> tuple[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return name, result.stderr.strip().splitlines()[-1] if result.returncode else ""


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {name: error for name, error in pool.map(_import_alone, _modules()) if error}
    assert failures == {}
