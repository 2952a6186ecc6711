"""Which package may import which: the directions are pinned here, read from the source with
``ast``, so a new dependency is a decision written in this file rather than an accident.

- ``broker_adapters`` imports neither ``orchestrator`` nor ``services``; ``services`` imports
  ``broker_adapters`` only; ``orchestrator`` may import both.
- Inside ``orchestrator``, each part (a subpackage, or a module at its top) sits in a layer
  and imports only parts of lower layers, or parts of its own layer along ``PEERS``: the
  foundation, then ``runtime`` (the only part that talks to Docker), then the AWS services'
  packages, then ``api`` (which parses and renders for them), then the front ends.
- A private module or name (``_launch_data``, ``_alarm_name``) is imported only from inside
  the package that holds it.

``EXCEPTIONS`` lists, one importing module and one imported module a line, what breaks these
rules today, each with the reason it is still there; an exception that no longer occurs fails
the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("broker_adapters", "orchestrator", "services")

TOP_LEVEL: dict[str, set[str]] = {
    "broker_adapters": set(),
    "services": {"broker_adapters"},
    "orchestrator": {"broker_adapters", "services"},
}

# Lowest first. "orchestrator" is the package itself (its __version__).
LAYERS: list[set[str]] = [
    {
        "orchestrator",
        "arns",
        "errors",
        "paging",
        "sqlite",
        "loop",
        "clock",
        "env_file",
        "launch_templates",
        "instance_types",
        "price_list",
        "billing",
        "savings_plans",
        "savings_plan_settings",
        "cost_lines",
        "instances",
        "time_scale",
        "client",
    },
    {"runtime"},
    {"asg", "scaling", "elb", "ecs", "sqs", "sns", "monitoring", "spot"},
    {"api"},
    {"dashboard", "compare", "demo"},
    {"server"},
    {"cli"},
]

# Imports allowed between parts of one layer: importer -> what it may import. One direction
# each, so the parts of a layer form no cycle.
PEERS: dict[str, set[str]] = {
    "orchestrator": set(),
    "arns": set(),
    "errors": set(),
    "paging": {"errors"},
    "sqlite": set(),
    "loop": set(),
    "clock": {"time_scale"},
    "env_file": set(),
    "launch_templates": {"errors"},
    "instance_types": {"errors", "launch_templates"},
    "price_list": {"errors"},
    "billing": {"price_list"},
    "savings_plans": set(),
    "savings_plan_settings": {"arns", "errors", "savings_plans"},
    "cost_lines": {"billing", "price_list", "savings_plans"},
    "client": {"arns"},
    "instances": set(),
    "time_scale": {"errors"},
    # Auto Scaling attaches target groups (its API's AttachLoadBalancerTargetGroups), runs
    # scaling policies and reads CloudWatch-like metrics.
    # ... and buys Spot capacity (MixedInstancesPolicy, CapacityRebalance).
    "asg": {"elb", "scaling", "monitoring", "spot"},
    "scaling": set(),
    "elb": set(),
    "ecs": {"asg", "elb", "scaling"},
    "sqs": set(),
    # SNS delivers to SQS queues.
    "sns": {"sqs"},
    "monitoring": {"scaling"},
    "spot": set(),
    "dashboard": set(),
    "compare": set(),
    "demo": set(),
}

EXCEPTIONS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str  # a module
    imported: str  # a module, or a module's attribute (module.name)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
}


def _imports() -> Iterator[Import]:
    for module, path in sorted(MODULES.items()):
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                for alias in node.names:
                    # `from package import module` names a module; anything else, an attribute.
                    target = f"{base}.{alias.name}"
                    yield Import(module, target, node.lineno)


def _module_of(target: str) -> str:
    """The module an imported name lives in (the name itself when it is a module)."""
    while target not in MODULES and "." in target:
        target = target.rpartition(".")[0]
    return target


OURS = [i for i in _imports() if i.imported.split(".")[0] in PACKAGES]


def _part(module: str) -> str:
    """The part of orchestrator a module belongs to: its subpackage or top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(part: str) -> int:
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    raise AssertionError(f"orchestrator.{part} is in no layer of {__name__}.LAYERS: place it")


def _breaks_layers(found: Import) -> bool:
    if found.importer.split(".")[0] != "orchestrator":
        return False
    if found.imported.split(".")[0] != "orchestrator":
        return False
    mine, theirs = _part(found.importer), _part(_module_of(found.imported))
    if mine == theirs:
        return False
    if _layer(mine) == _layer(theirs):
        return theirs not in PEERS.get(mine, set())
    return _layer(mine) < _layer(theirs)


def _private_owner(target: str) -> str | None:
    """The package that holds the first private module or name in ``target``, if any."""
    parts = target.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            holder = ".".join(parts[:index])
            if holder in MODULES and MODULES[holder].name != "__init__.py":
                return holder.rpartition(".")[0]  # a private name in a module: its package
            return holder
    return None


def _reaches_in(found: Import) -> bool:
    owner = _private_owner(found.imported)
    return owner is not None and not found.importer.startswith(owner + ".")


def _key(found: Import) -> tuple[str, str]:
    """How EXCEPTIONS names an import: the imported module, or the private module or name."""
    parts = found.imported.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return found.importer, ".".join(parts[: index + 1])
    return found.importer, _module_of(found.imported)


def _shown(found: Import) -> str:
    return f"{found.importer}:{found.line} imports {found.imported}"


def test_top_level_packages_import_only_what_they_may():
    wrong = [
        _shown(found)
        for found in OURS
        if found.imported.split(".")[0] != found.importer.split(".")[0]
        and found.imported.split(".")[0] not in TOP_LEVEL[found.importer.split(".")[0]]
    ]
    assert wrong == []


def test_every_part_of_orchestrator_has_a_layer_and_peers_form_no_cycle():
    parts = {_part(module) for module in MODULES if module.startswith("orchestrator")}
    placed = set().union(*LAYERS)
    assert parts <= placed, f"place these in LAYERS: {sorted(parts - placed)}"
    assert placed <= parts, f"LAYERS names parts that do not exist: {sorted(placed - parts)}"
    for part, peers in PEERS.items():
        assert all(_layer(peer) == _layer(part) for peer in peers), part
    visiting: list[str] = []

    def visit(part: str) -> None:
        assert part not in visiting, f"PEERS has a cycle: {[*visiting, part]}"
        visiting.append(part)
        for peer in PEERS.get(part, set()):
            visit(peer)
        visiting.pop()

    for part in PEERS:
        visit(part)


def test_orchestrator_parts_import_downwards_or_along_peers():
    wrong = [_shown(f) for f in OURS if _breaks_layers(f) and _key(f) not in EXCEPTIONS]
    assert wrong == []


def test_no_module_imports_another_package_s_private_module_or_name():
    wrong = [_shown(f) for f in OURS if _reaches_in(f) and _key(f) not in EXCEPTIONS]
    assert wrong == []


def test_every_exception_still_occurs():
    occurring = {_key(f) for f in OURS if _breaks_layers(f) or _reaches_in(f)}
    assert EXCEPTIONS - occurring == set(), "remove these from EXCEPTIONS: they are fixed"


def test_the_reader_sees_a_private_module_imported_from_outside_its_package():
    """The rule reads relative imports and private names as a reviewer would."""
    outside = Import("orchestrator.ecs.capacity", "orchestrator.api._launch_data.limits", 1)
    inside = Import("orchestrator.api.ec2", "orchestrator.api._launch_data.limits", 1)
    private_name = Import("orchestrator.api.x", "orchestrator.scaling.policy._helper", 1)
    sibling = Import("orchestrator.runtime.tasks", "orchestrator.runtime.docker._cpu", 1)
    assert _reaches_in(outside)
    assert not _reaches_in(inside)
    assert _reaches_in(private_name)
    assert not _reaches_in(sibling)
    upward = Import("orchestrator.runtime.docker", "orchestrator.api.ApiContext", 1)
    assert _breaks_layers(upward)
    assert not _breaks_layers(Import("orchestrator.api.ec2", "orchestrator.asg.store.Store", 1))
