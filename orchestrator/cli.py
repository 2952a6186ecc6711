"""The ``barista`` command. Verbs are shaped like the AWS CLI's; later issues add them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from orchestrator import __version__

SERVICES = ("health",)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="barista",
        description="Barista: AWS compute and messaging ideas on real brokers and containers.",
    )
    parser.add_argument("--version", action="version", version=f"barista {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run one of the containerized services")
    serve.add_argument("service", choices=SERVICES, help="which service to run")
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BARISTA_PORT", "8080")),
        help="HTTP port (env BARISTA_PORT, default 8080)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        # Imported here so the CLI starts without the services' dependencies loaded.
        from services import health  # noqa: PLC0415

        health.serve(port=args.port)
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
