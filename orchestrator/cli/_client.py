"""The AWS-CLI-shaped side of ``barista``: option tables, request building, and the HTTP call.

A command group (``autoscaling.py``, ``ec2.py``, …) is a table of :class:`Verb` values, each an
AWS action with its :class:`Param` list, handed to :func:`register_service`; this module does
the rest, the way the AWS CLI does it:

* options are the parameter names in kebab case (``AutoScalingGroupName`` →
  ``--auto-scaling-group-name``), booleans come in pairs (``--protected-from-scale-in`` /
  ``--no-protected-from-scale-in``), lists take several values (``--availability-zones a b``);
* a structure takes AWS's shorthand (``--launch-template LaunchTemplateName=x,Version=$Latest``)
  or JSON, and any value may be ``file://path`` to read it from a file;
* ``--cli-input-json`` (JSON or ``file://``) gives the whole request, and options override it;
* ``--endpoint-url`` (else ``BARISTA_ENDPOINT_URL``, else :data:`DEFAULT_ENDPOINT`) says where
  the orchestrator's API listens; ``--output json|table|text`` how to print the response
  (``orchestrator.cli._output``);
* every request is signed with AWS Signature Version 4 (botocore's ``SigV4Auth``, as the AWS
  CLI signs), with ``BARISTA_ACCESS_KEY_ID``/``BARISTA_SECRET_ACCESS_KEY`` when set, else the
  key botocore's standard chain finds (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ``~/.aws``).

Exit codes are the AWS CLI v2's: 0 success, 252 a command line that could not be turned into a
request, 253 no credentials to sign with, 254 the service refused it (``An error occurred
(Code) when calling the Action operation: message``), 255 anything else, such as no server at
the endpoint.

For another command group (elbv2), the whole interface is::

    VERBS = (Verb("CreateTargetGroup", (Param("Name", required=True), Param("Port", "integer"))),)

    def register(commands):
        register_service(commands, "elbv2", VERBS, help="Elastic Load Balancing")

and ``orchestrator.client.Client`` alone (``Client(endpoint).call("elbv2", "CreateTargetGroup",
{...})``), which signs and sends every request, for code that wants the API without the command
line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn, Protocol

from orchestrator.client import (
    DEFAULT_ENDPOINT,
    ENDPOINT_VARIABLE,
    Client,
    EndpointUnreachable,
    NoCredentials,
    ServiceError,
    endpoint_url,
)

OUTPUTS = ("table", "json", "text")
OUTPUT_VARIABLE = "BARISTA_DEFAULT_OUTPUT"

EXIT_USAGE = 252
EXIT_CONFIG = 253
EXIT_SERVICE = 254
EXIT_OTHER = 255

Kind = Literal[
    "string", "integer", "number", "boolean", "strings", "structure", "structures", "timestamp"
]


class UsageError(Exception):
    """The command line cannot become a request (AWS CLI: exit 252)."""


def kebab(name: str) -> str:
    """AWS CLI option and verb names: ``OKActions`` → ``ok-actions``, ``TargetGroupARNs`` →
    ``target-group-arns``."""
    words = re.findall(r"[A-Z]{2,}s(?=[A-Z]|$)|[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z0-9]+", name)
    return "-".join(words).lower()


@dataclass(frozen=True)
class Param:
    """One request parameter, by its AWS name; ``kind`` decides how the option is parsed."""

    name: str
    kind: Kind = "string"
    required: bool = False
    help: str = ""

    @property
    def option(self) -> str:
        return f"--{kebab(self.name)}"

    @property
    def dest(self) -> str:
        return f"param_{self.name}"


@dataclass(frozen=True)
class Verb:
    """One AWS action as a command: ``Verb("SetDesiredCapacity", (...))`` →
    ``set-desired-capacity``."""

    action: str
    params: tuple[Param, ...] = ()
    help: str = ""

    @property
    def name(self) -> str:
        return kebab(self.action)


def load_value(text: str, option: str) -> str:
    """AWS CLI paramfiles: ``file://path`` (and ``fileb://``) read the value from a file."""
    for prefix in ("file://", "fileb://"):
        if text.startswith(prefix):
            path = Path(text[len(prefix) :]).expanduser()
            try:
                return path.read_text()
            except OSError as error:
                raise UsageError(
                    f"Error parsing parameter '{option}': Unable to load paramfile {text}: {error}"
                ) from None
    return text


class _Shorthand:
    """AWS's shorthand syntax: ``A=1,B=[x,y],C={D=2}``; values stay strings (the API coerces)."""

    def __init__(self, text: str, option: str) -> None:
        self.text = text
        self.option = option
        self.at = 0

    def fail(self, expected: str) -> NoReturn:
        received = self.text[self.at] if self.at < len(self.text) else "EOF"
        raise UsageError(
            f"Error parsing parameter '{self.option}': Expected: '{expected}', received: "
            f"'{received}' for input:\n{self.text}"
        )

    def parse(self) -> dict[str, Any]:
        value = self.structure(end="")
        if self.at != len(self.text):
            self.fail(",")
        return value

    def structure(self, end: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            match = re.compile(r"\s*([A-Za-z0-9_.:-]+)\s*=").match(self.text, self.at)
            if match is None:
                self.fail("=")
            self.at = match.end()
            result[match.group(1)] = self.value(stops=",]}" if end else ",")
            if self.at < len(self.text) and self.text[self.at] == ",":
                self.at += 1
                continue
            return result

    def value(self, stops: str) -> Any:
        if self.at < len(self.text) and self.text[self.at] == "[":
            self.at += 1
            items: list[Any] = []
            while self.at < len(self.text) and self.text[self.at] != "]":
                items.append(self.value(stops=",]"))
                if self.at < len(self.text) and self.text[self.at] == ",":
                    self.at += 1
            if self.at >= len(self.text):
                self.fail("]")
            self.at += 1
            return items
        if self.at < len(self.text) and self.text[self.at] == "{":
            self.at += 1
            inner = self.structure(end="}")
            if self.at >= len(self.text) or self.text[self.at] != "}":
                self.fail("}")
            self.at += 1
            return inner
        if self.at < len(self.text) and self.text[self.at] in "'\"":
            quote = self.text[self.at]
            close = self.text.find(quote, self.at + 1)
            if close < 0:
                self.fail(quote)
            value = self.text[self.at + 1 : close]
            self.at = close + 1
            return value
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in stops:
            self.at += 1
        return self.text[start : self.at].strip()


def parse_structure(text: str, option: str) -> Any:
    """A structure or list argument: JSON when it looks like JSON, AWS shorthand otherwise."""
    text = load_value(text, option)
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as error:
            raise UsageError(f"Error parsing parameter '{option}': Invalid JSON: {error}") from None
    return _Shorthand(stripped, option).parse()


def _param_value(param: Param, raw: Any) -> Any:
    if param.kind in ("string", "timestamp"):
        return load_value(raw, param.option)
    if param.kind in ("integer", "number", "boolean"):
        return raw
    if param.kind == "structure":
        return parse_structure(raw, param.option)
    values = [load_value(item, param.option) for item in raw]
    if len(values) == 1 and values[0].strip().startswith("["):
        return parse_structure(values[0], param.option)
    if param.kind == "strings":
        return values
    return [parse_structure(item, param.option) for item in values]


_SKELETON: dict[str, Any] = {
    "string": "",
    "timestamp": "1970-01-01T00:00:00Z",
    "integer": 0,
    "number": 0.0,
    "boolean": True,
    "strings": [""],
    "structure": {},
    "structures": [{}],
}


def skeleton(verb: Verb) -> dict[str, Any]:
    """``--generate-cli-skeleton``: every parameter with a placeholder of its kind, to fill in
    and pass back with ``--cli-input-json``."""
    return {param.name: _SKELETON[param.kind] for param in verb.params}


def build_request(verb: Verb, args: argparse.Namespace) -> dict[str, Any]:
    """The request body: ``--cli-input-json`` first, then every option given on top of it."""
    params: dict[str, Any] = {}
    if args.cli_input_json is not None:
        loaded = parse_structure(args.cli_input_json, "--cli-input-json")
        if not isinstance(loaded, dict):
            raise UsageError("Error parsing parameter '--cli-input-json': must be a JSON object")
        params.update(loaded)
    for param in verb.params:
        raw = getattr(args, param.dest)
        if raw is not None:
            params[param.name] = _param_value(param, raw)
    missing = [p.option for p in verb.params if p.required and p.name not in params]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)}")
    return params


def _add_param(parser: argparse.ArgumentParser, param: Param) -> None:
    label = param.help or param.name
    if param.kind == "boolean":
        flags = parser.add_mutually_exclusive_group()
        flags.add_argument(
            param.option, dest=param.dest, action="store_const", const=True, help=label
        )
        flags.add_argument(
            f"--no-{kebab(param.name)}", dest=param.dest, action="store_const", const=False
        )
        return
    options: dict[str, Any] = {"dest": param.dest, "default": None}
    if param.kind == "integer":
        options["type"] = int
    elif param.kind == "number":
        options["type"] = float
    elif param.kind in ("strings", "structures"):
        options["nargs"] = "+"
    metavar = {"structure": "STRUCT", "structures": "STRUCT", "strings": "VALUE"}
    options["metavar"] = metavar.get(param.kind, param.kind.upper())
    required = " (required)" if param.required else ""
    parser.add_argument(param.option, help=f"{label}{required}", **options)


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 252, as the AWS CLI v2's do."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog.split()[0]}: error: {message}\n")


# A response's page token → the request member that asks for the next page, as AWS's
# paginators pair them (EC2 Auto Scaling, EC2, CloudWatch: NextToken; ECS: nextToken; ELB:
# NextMarker → Marker).
PAGE_TOKENS = {"NextToken": "NextToken", "nextToken": "nextToken", "NextMarker": "Marker"}


class _Calls(Protocol):
    def call(self, service: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]: ...


def call_all_pages(
    client: _Calls, service: str, action: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Every page of a paginated answer as one, lists joined, as the AWS CLI prints it; one
    call when the caller asked for a page themselves (a token in ``params``)."""
    response = client.call(service, action, params)
    if any(member in params for member in PAGE_TOKENS.values()):
        return response
    seen: set[str] = set()
    while (key := next((k for k in PAGE_TOKENS if response.get(k)), None)) is not None:
        token = str(response[key])
        if token in seen:  # a server repeating itself must not loop the CLI forever
            break
        seen.add(token)
        page = client.call(service, action, {**params, PAGE_TOKENS[key]: token})
        joined = {k: v for k, v in response.items() if k not in PAGE_TOKENS}
        for name, value in page.items():
            earlier = joined.get(name)
            joined[name] = (
                earlier + value if isinstance(earlier, list) and isinstance(value, list) else value
            )
        response = joined
    return response


def _run(service: str, verb: Verb) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from orchestrator.cli._output import render  # noqa: PLC0415 - rich loads only to print

        if args.generate_cli_skeleton:
            print(json.dumps(skeleton(verb), indent=4))
            return 0
        try:
            params = build_request(verb, args)
            client = Client(endpoint_url(args.endpoint_url))
            response = call_all_pages(client, service, verb.action, params)
        except UsageError as error:
            print(f"\nbarista: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except ServiceError as error:
            print(f"\n{error}", file=sys.stderr)
            return EXIT_SERVICE
        except NoCredentials as error:
            print(f"\n{error}", file=sys.stderr)
            return EXIT_CONFIG
        except EndpointUnreachable as error:
            print(f"\n{error}", file=sys.stderr)
            return EXIT_OTHER
        render(response, args.output, title=verb.action)
        return 0

    return run


def register_service(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    service: str,
    verbs: Sequence[Verb],
    *,
    help: str,
) -> argparse.ArgumentParser:
    """Add ``barista {service} {verb} …`` for every verb; returns the group's parser."""
    group = commands.add_parser(service, help=help, description=help)
    group.error = _Parser.error.__get__(group)  # type: ignore[method-assign]

    def no_verb(_: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return EXIT_USAGE

    group.set_defaults(run=no_verb)
    verbs_parsers = group.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for verb in verbs:
        parser = verbs_parsers.add_parser(
            verb.name, help=verb.help or verb.action, description=verb.help or verb.action
        )
        for param in verb.params:
            _add_param(parser, param)
        common = parser.add_argument_group("global options")
        common.add_argument(
            "--cli-input-json",
            metavar="JSON",
            help="the whole request as JSON (or file://path); options given override it",
        )
        common.add_argument(
            "--generate-cli-skeleton",
            action="store_true",
            help="print a JSON request with every parameter, for --cli-input-json",
        )
        common.add_argument(
            "--endpoint-url",
            help=f"the orchestrator API (default: ${ENDPOINT_VARIABLE} or {DEFAULT_ENDPOINT})",
        )
        common.add_argument(
            "--output",
            choices=OUTPUTS,
            default=os.environ.get(OUTPUT_VARIABLE, "table"),
            help=f"how to print the response (default: table, or ${OUTPUT_VARIABLE})",
        )
        parser.set_defaults(run=_run(service, verb))
    return group
