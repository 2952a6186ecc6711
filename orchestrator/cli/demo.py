"""``barista demo``: the live demo's commands, as ``make up`` runs them.

* ``barista demo apply [FILE]`` applies the demo's declarative stack (default
  ``orchestrator/demo/stack.json``) through the orchestrator's API, then (``--wait``) waits
  until its groups are InService, its ECS services run their desired count and its target
  groups have a healthy target. Applying again
  changes nothing. Exit status 0 when applied (and ready), 1 when the wait ran out, 254 when
  the API refused a step, 255 when no orchestrator answers or there is no access key to sign
  with (``BARISTA_ACCESS_KEY_ID``/``BARISTA_SECRET_ACCESS_KEY`` in ``.env``).
* ``barista demo orchestrator`` is ``barista serve orchestrator`` for the compose stack: it
  sets ``BARISTA_BROKER_URL`` from ``BACKEND`` and that broker's credentials (unless given)
  and waits until the broker answers, since a broker behind a compose profile cannot be a
  ``depends_on``.
* ``barista demo subscriber`` is ``barista serve subscriber`` for the compose stack (the
  pickup board, loyalty, analytics), with ``BARISTA_BROKER_URL`` set the same way.
* ``barista demo urls`` prints where everything is, for the chosen backend and ports, and
  writes ``.aws-barista/config`` (beside ``.env``) with a ``barista`` profile (region, endpoint,
  the orchestrator's access key) so the ``aws`` CLI and boto3 reach Barista with
  ``AWS_CONFIG_FILE`` and ``AWS_PROFILE`` set as it prints them.

Settings come from the environment over ``--env-file`` (``.env``), as Compose reads them.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from orchestrator.cli._client import EXIT_OTHER, EXIT_SERVICE, UsageError
from orchestrator.client import ENDPOINT_VARIABLE, EndpointUnreachable, NoCredentials, ServiceError

log = logging.getLogger(__name__)

BROKER_WAIT_SECONDS = 180.0
AWS_PROFILE = "barista"
AWS_CONFIG_DIRECTORY = ".aws-barista"  # beside .env, and gitignored like it


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="the live demo: apply its stack, run its orchestrator, list its URLs",
        description="The live demo's commands, as `make up` runs them.",
    )

    def no_verb(_: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(run=no_verb)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    apply = verbs.add_parser(
        "apply", help="apply the demo's declarative stack through the orchestrator's API"
    )
    apply.add_argument("file", nargs="?", type=Path, help="the stack (default: the demo's)")
    apply.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="then wait up to SECONDS until the groups are InService and targets healthy",
    )
    apply.add_argument(
        "--endpoint-url", help="the orchestrator API (default: from ORCHESTRATOR_PORT)"
    )
    apply.set_defaults(run=run_apply)

    orchestrator = verbs.add_parser(
        "orchestrator", help="`serve orchestrator` with the broker URL BACKEND names"
    )
    orchestrator.set_defaults(run=run_orchestrator)

    subscriber = verbs.add_parser(
        "subscriber", help="`serve subscriber` with the broker URL BACKEND names"
    )
    subscriber.set_defaults(run=run_subscriber)

    urls = verbs.add_parser("urls", help="print the demo's URLs")
    urls.set_defaults(run=run_urls)

    for sub in (apply, orchestrator, subscriber, urls):
        sub.add_argument(
            "--env-file",
            type=Path,
            default=Path(".env"),
            help="the compose .env under the environment's variables (default: ./.env)",
        )


def _environ(args: argparse.Namespace) -> dict[str, str]:
    from orchestrator.demo.environment import demo_environ  # noqa: PLC0415

    return demo_environ(os.environ, args.env_file)


def _endpoint(args: argparse.Namespace, environ: dict[str, str]) -> str:
    """``--endpoint-url``, else ``BARISTA_ENDPOINT_URL``, else the published port."""
    port = environ.get("ORCHESTRATOR_PORT") or "8500"
    return args.endpoint_url or environ.get(ENDPOINT_VARIABLE) or f"http://127.0.0.1:{port}"


def run_apply(args: argparse.Namespace) -> int:
    from orchestrator.cli._aws_sdk import AwsSdkCaller  # noqa: PLC0415
    from orchestrator.client import access_key  # noqa: PLC0415
    from orchestrator.demo import STACK_FILE  # noqa: PLC0415
    from orchestrator.demo.environment import DemoSettingError, variables  # noqa: PLC0415
    from orchestrator.demo.stack import Outcome, StackError, apply, load  # noqa: PLC0415

    environ = _environ(args)
    path: Path = args.file or STACK_FILE
    try:
        steps = load(path, variables(environ))
    except (DemoSettingError, StackError) as error:
        print(f"barista demo apply: {error}", file=sys.stderr)
        return 2
    # Through botocore and the AWS front door, as a user's own boto3 script would build it.
    client = AwsSdkCaller(_endpoint(args, environ), access_key(environ), timeout=60.0)

    def report(outcome: Outcome) -> None:
        print(f"  {outcome.result:<8} {outcome.step.name}", flush=True)
        if outcome.drift:
            print(
                f"  warning: it differs from the file in {', '.join(outcome.drift)} (another "
                "BACKEND, credentials or project?); applying leaves it as it is: "
                "`make down` and `make up` make it anew",
                flush=True,
            )

    print(f"applying {path} to {client.endpoint}", flush=True)
    try:
        outcomes = apply(client, steps, report)
    except (StackError, UsageError) as error:
        print(f"barista demo apply: {error}", file=sys.stderr)
        return 2
    except ServiceError as error:
        print(f"barista demo apply: {error}", file=sys.stderr)
        return EXIT_SERVICE
    except (EndpointUnreachable, NoCredentials) as error:
        print(f"barista demo apply: {error}", file=sys.stderr)
        return EXIT_OTHER
    if args.wait <= 0:
        return 0
    return _wait(client, steps, outcomes, args.wait)


def _wait(client: Any, steps: list[Any], outcomes: list[Any], timeout: float) -> int:
    from orchestrator.demo.ready import Readiness, wait_until_ready  # noqa: PLC0415
    from orchestrator.demo.stack import group_names, service_names  # noqa: PLC0415

    target_groups = [
        str(o.resource["TargetGroupArn"])
        for o in outcomes
        if o.step.action == "CreateTargetGroup" and o.resource is not None
    ]

    def progress(readiness: Readiness) -> None:
        if readiness.ready:
            print(
                "  ready: every group InService, every service's tasks running, every target "
                "group has a healthy target"
            )
        else:
            print(f"  waiting for {'; '.join(readiness.waiting)}", flush=True)

    started = time.monotonic()
    final = wait_until_ready(
        client,
        group_names(steps),
        target_groups,
        timeout,
        progress=progress,
        services=service_names(steps),
    )
    if not final.ready:
        sys.stdout.flush()
        print(
            f"barista demo apply: not ready after {timeout:.0f} s: {'; '.join(final.waiting)}",
            file=sys.stderr,
        )
        return 1
    print(f"  ready after {time.monotonic() - started:.0f} s", flush=True)
    return 0


def _wait_for_broker(url: str, deadline: float) -> None:
    """Wait until the broker answers: a broker behind a compose profile cannot be a
    ``depends_on``. (Measuring a queue before the workers declare it creates nothing, so the
    orchestrator need not declare it for them: see ``Broker.backlog``.)"""
    from services.messaging import open_broker  # noqa: PLC0415

    while True:
        try:
            broker = open_broker(url, timeout=5.0)
            break
        except Exception as error:  # any client's "not yet": refused, no such host, auth race
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for the broker", extra={"reason": str(error)[:200]})
            time.sleep(2.0)
    broker.close()


def run_orchestrator(args: argparse.Namespace) -> int:
    from orchestrator import server  # noqa: PLC0415
    from orchestrator.demo.environment import (  # noqa: PLC0415
        DemoSettingError,
        broker_url,
        ledger_url,
    )
    from services import logs  # noqa: PLC0415

    logs.configure("orchestrator")
    environ = _environ(args)
    try:
        environ.setdefault("BARISTA_BROKER_URL", broker_url(environ))
        environ.setdefault("BARISTA_LEDGER_URL", ledger_url(environ))  # for the dashboard
        # Redis runs whatever BACKEND is (it holds the ledger), and SQS FIFO queues live on it.
        environ.setdefault("BARISTA_REDIS_URL", ledger_url(environ))
    except DemoSettingError as error:
        log.error(str(error))
        return 2
    try:
        _wait_for_broker(environ["BARISTA_BROKER_URL"], time.monotonic() + BROKER_WAIT_SECONDS)
    except Exception as error:
        log.error("the broker did not answer", extra={"reason": str(error)[:500]})
        return 1
    return server.main(environ)


def run_subscriber(args: argparse.Namespace) -> int:
    """A subscriber of the stack's events topic (the pickup board, loyalty, analytics): no
    broker wait here, the subscriber reconnects on its own until the broker answers."""
    from orchestrator.demo.environment import DemoSettingError, broker_url  # noqa: PLC0415
    from services import subscriber  # noqa: PLC0415

    environ = _environ(args)
    try:
        environ.setdefault("BARISTA_BROKER_URL", broker_url(environ))
    except DemoSettingError as error:
        print(f"barista demo subscriber: {error}", file=sys.stderr)
        return 2
    return subscriber.main(environ)


def run_urls(args: argparse.Namespace) -> int:
    from orchestrator.demo.environment import DemoSettingError, backend  # noqa: PLC0415

    environ = _environ(args)
    try:
        chosen = backend(environ)
    except DemoSettingError as error:
        print(f"barista demo urls: {error}", file=sys.stderr)
        return 2

    def port(name: str, default: int) -> str:
        return environ.get(name) or str(default)

    orchestrator = f"http://127.0.0.1:{port('ORCHESTRATOR_PORT', 8500)}"
    rows = [
        ("Dashboard", _dashboard_link(orchestrator, environ)),
        ("AWS API (aws CLI, boto3)", orchestrator),
        ("ALB (order counters)", f"http://127.0.0.1:{port('ALB_PORT', 8080)}/menu"),
        ("Pickup board", f"http://127.0.0.1:{port('PICKUP_BOARD_PORT', 8502)}/"),
        ("Load generator", f"http://127.0.0.1:{port('LOADGEN_PORT', 8501)}/pattern"),
        ("HAProxy stats", f"http://127.0.0.1:{port('HAPROXY_STATS_PORT', 8404)}/stats"),
    ]
    if chosen == "rabbitmq":
        rows += [
            ("RabbitMQ management", f"http://127.0.0.1:{port('RABBITMQ_MANAGEMENT_PORT', 15672)}/"),
            ("RabbitMQ (AMQP)", f"amqp://127.0.0.1:{port('RABBITMQ_PORT', 5672)}"),
        ]
    elif chosen == "kafka":
        rows.append(("Kafka (SASL/PLAIN)", f"127.0.0.1:{port('KAFKA_PORT', 9092)}"))
    rows.append(
        (
            "Redis (ledger" + (", broker)" if chosen == "redis" else ")"),
            f"127.0.0.1:{port('REDIS_PORT', 6379)}",
        )
    )
    width = max(len(name) for name, _ in rows)
    print(f"Barista is up: baristas on {chosen}, time scale x{environ.get('TIME_SCALE') or 60}.")
    for name, url in rows:
        print(f"  {name:<{width}}  {url}")
    print("Credentials are in .env; `make down` stops everything.")
    _print_aws_profile(args.env_file, environ, orchestrator)
    return 0


def _dashboard_link(orchestrator: str, environ: dict[str, str]) -> str:
    """The dashboard's one-click login link (valid a day), or its plain address when there is
    no access key to sign one with (the page then asks for the keys)."""
    from orchestrator.api.credentials import Credentials  # noqa: PLC0415
    from orchestrator.dashboard.session import dashboard_login_url  # noqa: PLC0415

    try:
        return dashboard_login_url(orchestrator, Credentials.from_environ(environ))
    except ValueError:
        return f"{orchestrator}/"


def write_aws_profile(path: Path, endpoint: str, key_id: str, secret: str) -> Path:
    """An AWS config file holding one profile, ``barista``: region, ``endpoint_url`` (honoured
    by botocore and the AWS CLI since they read endpoints from profiles) and the access key, so
    ``AWS_CONFIG_FILE=path AWS_PROFILE=barista aws …`` needs nothing else. Readable by its owner
    only, since it holds the secret."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = (
        f"[profile {AWS_PROFILE}]\n"
        "region = us-east-1\n"
        f"endpoint_url = {endpoint}\n"
        f"aws_access_key_id = {key_id}\n"
        f"aws_secret_access_key = {secret}\n"
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)
    return path


def _print_aws_profile(env_file: Path, environ: dict[str, str], endpoint: str) -> None:
    from orchestrator.api.credentials import (  # noqa: PLC0415
        ACCESS_KEY_VARIABLE,
        SECRET_KEY_VARIABLE,
    )

    key_id = environ.get(ACCESS_KEY_VARIABLE, "").strip()
    secret = environ.get(SECRET_KEY_VARIABLE, "").strip()
    if not key_id or not secret:
        print(
            f"No {ACCESS_KEY_VARIABLE}/{SECRET_KEY_VARIABLE} in {env_file}: the API refuses "
            "every request; `make up` adds a pair to .env."
        )
        return
    config = env_file.resolve().parent / AWS_CONFIG_DIRECTORY / "config"
    write_aws_profile(config, endpoint, key_id, secret)
    print(f"The aws CLI and boto3 reach Barista with the profile {AWS_PROFILE} ({config}):")
    print(f"  export AWS_CONFIG_FILE={shlex.quote(str(config))}")
    print(f"  export AWS_PROFILE={AWS_PROFILE}")
