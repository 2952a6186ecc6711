"""The ``barista`` command: ``serve`` runs a service; other verbs are shaped like the AWS CLI's.

Command groups are discovered, not listed: every public module in this package that defines
``register(commands)`` adds one group (``autoscaling.py`` → ``barista autoscaling …``). A new
group is a new module, so groups never edit each other's code. ``register`` receives the
top-level subparsers and must set ``run`` (``Callable[[argparse.Namespace], int]``) as a
default on the parser it adds. Modules import their heavy dependencies inside ``run``, so
``barista --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence

import orchestrator

# barista serve NAME -> the module whose main(environ) runs it. Each reads its settings from
# BARISTA_* variables (services/settings.py) and returns the process exit code.
SERVICES = {
    "health": "services.health",
    "order-api": "services.order_api",
    "barista": "services.barista",
    "subscriber": "services.subscriber",
    "loadgen": "services.loadgen",
    "orchestrator": "orchestrator.server",
}

Run = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    # Imported here so the CLI starts without every service's dependencies loaded.
    module = importlib.import_module(SERVICES[args.service])
    code: int = module.main(os.environ)
    return code


def command_group_modules() -> list[str]:
    """The modules that add a command group, in name order (so ``--help`` is stable)."""
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    )


def _build_parser(groups: bool = True) -> argparse.ArgumentParser:
    """The whole CLI; without ``groups`` only ``serve``, which is what a container runs: its
    start then imports none of the command groups (nor reads the installed version)."""
    parser = argparse.ArgumentParser(
        prog="barista",
        description="Barista: AWS compute and messaging ideas on real brokers and containers.",
    )
    if groups:
        version = f"barista {orchestrator.__version__}"
        parser.add_argument("--version", action="version", version=version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run one of the containerized services",
        description="Run a service; it is configured by BARISTA_* environment variables.",
    )
    serve.add_argument("service", choices=list(SERVICES), help="which service to run")
    serve.set_defaults(run=_serve)
    if groups:
        for name in command_group_modules():
            importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser(groups=arguments[:1] != ["serve"])
    args = parser.parse_args(arguments)
    run: Run | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
