"""The ``barista`` command. Verbs are shaped like the AWS CLI's; later issues add them."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from orchestrator import __version__

# barista serve NAME -> the module whose main(environ) runs it. Each reads its settings from
# BARISTA_* variables (services/settings.py) and returns the process exit code.
SERVICES = {
    "health": "services.health",
    "order-api": "services.order_api",
    "barista": "services.barista",
    "subscriber": "services.subscriber",
    "loadgen": "services.loadgen",
}


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        # Imported here so the CLI starts without every service's dependencies loaded.
        module = importlib.import_module(SERVICES[args.service])
        code: int = module.main(os.environ)
        return code
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
