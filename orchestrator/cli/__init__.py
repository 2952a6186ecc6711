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

from orchestrator import __version__

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


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="barista",
        description="Barista: AWS compute and messaging ideas on real brokers and containers.",
    )
    parser.add_argument("--version", action="version", version=f"barista {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run one of the containerized services",
        description="Run a service; it is configured by BARISTA_* environment variables.",
    )
    serve.add_argument("service", choices=list(SERVICES), help="which service to run")
    serve.set_defaults(run=_serve)
    for name in command_group_modules():
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    run: Run | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
