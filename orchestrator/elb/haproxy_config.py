"""Render listeners, rules and target groups as HAProxy configuration text (pure, no I/O).

One frontend per listener (``lb_<name>_<port>``), one backend per target group
(``tg_<name>``), one server per target (``server_name``). The same ``server_arguments`` feed the
``server`` lines written here and the runtime API's ``add server``, so a server added without a
reload is exactly the one the next reload reads.

ALB rules are evaluated the way AWS does, by priority, first match wins, whatever the action:
each rule's conditions set ``txn.rule`` to its priority unless an earlier rule already matched,
and the actions then key on that variable (``http-request return`` for fixed responses,
``http-request redirect``, ``use_backend`` for forwards). A forward to several weighted target
groups draws one ``rand`` per request and compares it with cumulative weights.

The configuration has two parts: the *structure* (frontends, backends, their settings) whose
change needs a reload, and the *servers*, which the runtime API changes live. ``structure_hash``
covers only the first and is set as ``proc.barista_config`` so the controller can ask the
running HAProxy which structure it serves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.elb.model import (
    Action,
    ActionType,
    ConditionField,
    HealthCheck,
    LoadBalancer,
    LoadBalancerType,
    LoadBalancingAlgorithm,
    Protocol,
    RedirectConfig,
    RuleCondition,
    TargetGroup,
)
from orchestrator.elb.topology import ElbTopology
from orchestrator.time_scale import TimeScale

# AWS's routing algorithms as HAProxy's; each lets the runtime API add servers.
BALANCE = {
    LoadBalancingAlgorithm.ROUND_ROBIN: "roundrobin",
    LoadBalancingAlgorithm.LEAST_OUTSTANDING_REQUESTS: "leastconn",
    LoadBalancingAlgorithm.WEIGHTED_RANDOM: "random",
}
RANDOM_RANGE = 10000  # weighted forwards draw from [0, RANDOM_RANGE)
STICKY_COOKIE = "AWSALB"
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# RFC 9110's token characters; a header name is one token.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class HaproxyPaths:
    """Where HAProxy (inside its container) finds the files the orchestrator writes."""

    directory: str = "/barista/elb"

    @property
    def certificate(self) -> str:
        return f"{self.directory}/certs/localhost.pem"

    @property
    def server_state(self) -> str:
        return f"{self.directory}/servers.state"


@dataclass(frozen=True)
class Server:
    """One HAProxy server: a target at a resolved address."""

    name: str
    address: str
    port: int


def backend_name(target_group: TargetGroup) -> str:
    return f"tg_{target_group.target_group_name}"


def frontend_name(load_balancer: LoadBalancer, port: int) -> str:
    return f"lb_{load_balancer.load_balancer_name}_{port}"


def server_name(target_id: str, port: int) -> str:
    """A stable server name per target: the same target always maps to the same server."""
    return f"{_NAME_UNSAFE.sub('_', target_id)}_{port}"


def milliseconds(seconds: float, time_scale: TimeScale) -> int:
    """An AWS duration as the wall-clock milliseconds HAProxy waits (at least 1)."""
    return max(1, round(time_scale.scaled(seconds) * 1000))


def server_arguments(target_group: TargetGroup, time_scale: TimeScale) -> list[str]:
    """The settings of every server of ``target_group``, for config lines and ``add server``.

    Health checks: ``inter`` from the interval, ``rise``/``fall`` from the healthy/unhealthy
    thresholds, ``port`` when the check does not use the traffic port. Slow start ramps a
    server's weight up over ``slow_start.duration_seconds`` after it comes up.
    """
    check = target_group.health_check
    arguments: list[str] = []
    if check.enabled:
        arguments += [
            "check",
            "inter",
            f"{milliseconds(check.interval_seconds, time_scale)}ms",
            "rise",
            str(check.healthy_threshold_count),
            "fall",
            str(check.unhealthy_threshold_count),
        ]
        if check.port != "traffic-port":
            arguments += ["port", check.port]
    slow_start = target_group.attributes.slow_start_duration_seconds
    if slow_start:
        arguments += ["slowstart", f"{milliseconds(slow_start, time_scale)}ms"]
    if target_group.protocol in (Protocol.HTTPS, Protocol.TLS):
        arguments += ["ssl", "verify", "none"]
    return arguments


def matcher_regex(matcher: str) -> str:
    """AWS's HttpCode matcher (``200``, ``200,202``, ``200-299``) as an anchored regex."""
    codes: list[str] = []
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        codes += [str(code) for code in range(int(low), int(high or low) + 1)]
    return f"^({'|'.join(codes)})$"


def wildcard_regex(pattern: str) -> str:
    """AWS's condition wildcards (``*`` any characters, ``?`` one) as an anchored regex."""
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return f"^{body}$"


def quote(text: str) -> str:
    """One config word whatever ``text`` holds: single-quoted so spaces, ``#``, ``$`` and ``\\``
    stay literal, and every character a quote cannot carry written as ``\\xNN`` escapes of its
    UTF-8 bytes outside the quotes (HAProxy joins adjacent parts into one word, as a shell does).

    A quote cannot carry a newline (HAProxy reads its file line by line) or any other control
    character, so none of them ever reaches the file: a value can add no config line.
    """
    parts = ["'"]
    for char in text:
        if char == "'":
            parts.append("'\\''")
        elif char.isprintable():
            parts.append(char)
        else:
            escaped = "".join(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
            parts.append(f"'{escaped}'")
    parts.append("'")
    return "".join(parts)


def is_header_name(name: str) -> bool:
    """An HTTP field name: one RFC 9110 token, the only names ``req.hdr()`` can carry."""
    return bool(HEADER_NAME.fullmatch(name))


def _log_format_literal(text: str) -> str:
    return text.replace("%", "%%")


def _redirect_location(redirect: RedirectConfig, listener_protocol: Protocol, port: int) -> str:
    """AWS's redirect URL with its ``#{…}`` placeholders as HAProxy log-format fetches."""

    def expand(value: str) -> str:
        expanded = _log_format_literal(value)
        return (
            expanded.replace("#{protocol}", listener_protocol.lower())
            .replace("#{host}", "%[req.hdr(host),field(1,:)]")
            .replace("#{port}", str(port))
            .replace("#{path}", "%[path,ltrim(/)]")
            .replace("#{query}", "%[query]")
        )

    location = (
        f"{expand(redirect.protocol).lower()}://{expand(redirect.host)}:{expand(redirect.port)}"
    )
    if redirect.path == "/#{path}" and redirect.query == "#{query}":
        return location + "%[pathq]"
    location += expand(redirect.path)
    if redirect.query:
        location += "?" + expand(redirect.query)
    return location


def _condition_acl(name: str, condition: RuleCondition) -> str:
    values = condition.values
    if condition.field is ConditionField.PATH_PATTERN:
        patterns = " ".join(quote(wildcard_regex(v)) for v in values)
        return f"acl {name} path -m reg {patterns}"
    if condition.field is ConditionField.HOST_HEADER:
        patterns = " ".join(quote(wildcard_regex(v)) for v in values)
        return f"acl {name} req.hdr(host),field(1,:) -m reg -i {patterns}"
    if condition.field is ConditionField.HTTP_HEADER:
        patterns = " ".join(quote(wildcard_regex(v)) for v in values)
        header = condition.http_header_name or ""
        if not is_header_name(header) or "'" in header:
            # Validation refuses such a name; one stored before it did matches nothing rather
            # than write an expression HAProxy would read differently. Quoted, since a token
            # may hold ``#`` (a comment outside quotes) and ``$``.
            return f"acl {name} always_false"
        return f"acl {name} req.hdr({quote(header)}) -m reg -i {patterns}"
    methods = " ".join(quote(v) for v in values)
    return f"acl {name} method -m str {methods}"


def _weighted_backends(
    action: Action, target_groups: Mapping[str, TargetGroup]
) -> list[tuple[str, int | None]]:
    """(backend, exclusive upper bound of txn.rnd or None for the last) for a forward."""
    chosen = [t for t in action.target_groups if t.weight > 0] or list(action.target_groups)
    total = sum(t.weight for t in chosen) or len(chosen)
    result: list[tuple[str, int | None]] = []
    cumulative = 0
    for index, entry in enumerate(chosen):
        name = backend_name(target_groups[entry.target_group_arn])
        if index == len(chosen) - 1:
            result.append((name, None))
        else:
            cumulative += entry.weight if total else 1
            result.append((name, cumulative * RANDOM_RANGE // total))
    return result


def _action_lines(
    action: Action,
    guard: str,
    *,
    target_groups: Mapping[str, TargetGroup],
    listener_protocol: Protocol,
    port: int,
    is_default: bool,
) -> list[str]:
    """Config lines carrying out ``action`` when ``guard`` (an ACL expression) holds."""
    when = f" if {guard}" if guard else ""
    if action.type is ActionType.FIXED_RESPONSE and action.fixed_response is not None:
        response = action.fixed_response
        line = f"http-request return status {response.status_code}"
        if response.message_body:
            line += f" content-type {quote(response.content_type)}"
            line += f" string {quote(response.message_body)}"
        return [line + when]
    if action.type is ActionType.REDIRECT and action.redirect is not None:
        code = action.redirect.status_code.removeprefix("HTTP_")
        location = _redirect_location(action.redirect, listener_protocol, port)
        return [f"http-request redirect location {quote(location)} code {code}{when}"]
    lines = []
    for name, bound in _weighted_backends(action, target_groups):
        if bound is None and is_default:
            lines.append(f"default_backend {name}")
        else:
            draw = f" {{ var(txn.rnd) -m int lt {bound} }}" if bound is not None else ""
            condition = f"{guard}{draw}".strip()
            lines.append(
                f"use_backend {name} if {condition}" if condition else f"use_backend {name}"
            )
    return lines


def _frontend(
    topology: ElbTopology,
    listener_arn: str,
    paths: HaproxyPaths,
) -> list[str]:
    listener = topology.listener(listener_arn)
    load_balancer = topology.load_balancer(listener.load_balancer_arn)
    is_alb = load_balancer.type is LoadBalancerType.APPLICATION
    tls = listener.protocol in (Protocol.HTTPS, Protocol.TLS)
    bind = f"bind :{listener.port}" + (f" ssl crt {paths.certificate}" if tls else "")
    lines = [f"frontend {frontend_name(load_balancer, listener.port)}"]
    lines.append("    mode http" if is_alb else "    mode tcp")
    lines.append(f"    {bind}")
    groups = topology.target_groups_by_arn
    if not is_alb:
        forward = listener.default_actions[0]
        lines.append(
            f"    default_backend {backend_name(groups[forward.target_groups[0].target_group_arn])}"
        )
        return lines
    lines += [
        "    option forwardfor",
        f"    http-request set-header X-Forwarded-Proto {listener.protocol.lower()}",
        f"    http-request set-header X-Forwarded-Port {listener.port}",
    ]
    rules = topology.rules_of(listener_arn)
    all_actions = [a for r in rules for a in r.actions] + list(listener.default_actions)
    if any(a.type is ActionType.FORWARD and len(a.target_groups) > 1 for a in all_actions):
        lines.append(f"    http-request set-var(txn.rnd) rand({RANDOM_RANGE})")
    for rule in rules:
        names = [f"r{rule.priority}_{i}" for i in range(len(rule.conditions))]
        lines += [
            f"    {_condition_acl(n, c)}" for n, c in zip(names, rule.conditions, strict=True)
        ]
        matched = " ".join(["!{ var(txn.rule) -m found }", *names])
        lines.append(f"    http-request set-var(txn.rule) int({rule.priority}) if {matched}")
    # Fixed responses and redirects run at http-request time, before any use_backend, so all
    # of them are listed first; the txn.rule guard keeps AWS's first-match-wins order.
    ordered = [(f"{{ var(txn.rule) -m int eq {r.priority} }}", r.actions[-1], False) for r in rules]
    ordered.append(("!{ var(txn.rule) -m found }", listener.default_actions[-1], True))
    for kind_first in (True, False):
        for guard, action, is_default in ordered:
            if (action.type is not ActionType.FORWARD) is kind_first:
                lines += [
                    f"    {line}"
                    for line in _action_lines(
                        action,
                        "" if is_default and action.type is ActionType.FORWARD else guard,
                        target_groups=groups,
                        listener_protocol=listener.protocol,
                        port=listener.port,
                        is_default=is_default,
                    )
                ]
    return lines


def _health_check_lines(check: HealthCheck, time_scale: TimeScale) -> list[str]:
    if not check.enabled:
        return []
    # The timeout bounds real work (a target answering a request), so like stopTimeout it is
    # not compressed: at x60 AWS's 5 s would be 83 ms and healthy targets would flap.
    lines = [f"    timeout check {milliseconds(check.timeout_seconds, TimeScale())}ms"]
    if check.protocol in (Protocol.HTTP, Protocol.HTTPS):
        lines.append(f"    option httpchk GET {quote(check.path)}")
        lines.append(
            f"    http-check expect rstatus {quote(matcher_regex(check.matcher or '200'))}"
        )
    return lines


def _backend(
    target_group: TargetGroup, time_scale: TimeScale, servers: Sequence[Server] = ()
) -> list[str]:
    attributes = target_group.attributes
    lines = [f"backend {backend_name(target_group)}"]
    if target_group.is_http:
        lines.append("    mode http")
        lines.append(f"    balance {BALANCE[attributes.load_balancing_algorithm_type]}")
    else:
        # NLB's flow hash: a client (source address) keeps its target while the set is stable;
        # consistent hashing is what lets the runtime API add servers to a hashed backend.
        lines += ["    mode tcp", "    balance source", "    hash-type consistent"]
    lines += _health_check_lines(target_group.health_check, time_scale)
    if target_group.is_http and attributes.stickiness_enabled:
        duration = attributes.stickiness_lb_cookie_duration_seconds
        # The cookie value is a hash of the server's address, so it stays valid for servers
        # added at runtime and across reloads.
        key = hashlib.sha256(target_group.target_group_arn.encode()).hexdigest()[:16]
        lines.append(
            f"    cookie {STICKY_COOKIE} insert indirect nocache maxlife {duration}s dynamic"
        )
        lines.append(f"    dynamic-cookie-key {key}")
    # Written disabled: after a reload the server-state file restores each known server's
    # state; a server it does not know stays in maintenance until the controller activates it
    # as an initial target (a server written enabled would take traffic before any check).
    arguments = " ".join([*server_arguments(target_group, time_scale), "disabled"])
    lines += [f"    server {s.name} {s.address}:{s.port} {arguments}" for s in servers]
    return lines


def render_structure(
    topology: ElbTopology,
    *,
    paths: HaproxyPaths,
    time_scale: TimeScale,
    servers: Mapping[str, Sequence[Server]] | None = None,
) -> list[str]:
    """Frontends and backends; without ``servers``, every line whose change needs a reload."""
    lines: list[str] = []
    for listener in topology.listeners:
        lines += ["", *_frontend(topology, listener.listener_arn, paths)]
    for target_group in topology.target_groups:
        own = (servers or {}).get(target_group.target_group_arn, ())
        lines += ["", *_backend(target_group, time_scale, own)]
    return lines


def structure_hash(topology: ElbTopology, *, paths: HaproxyPaths, time_scale: TimeScale) -> str:
    text = "\n".join(render_structure(topology, paths=paths, time_scale=time_scale))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(
    topology: ElbTopology,
    servers: Mapping[str, Sequence[Server]],
    *,
    paths: HaproxyPaths,
    time_scale: TimeScale,
) -> str:
    """The whole file: a global part (state file, structure hash), defaults, then the proxies
    with the servers of each target group (``servers`` by target group ARN)."""
    digest = structure_hash(topology, paths=paths, time_scale=time_scale)
    lines = [
        "# Written by the Barista orchestrator (orchestrator/elb); changes here are overwritten.",
        "global",
        f"    server-state-file {paths.server_state}",
        f"    set-var proc.barista_config str({digest})",
        "",
        "defaults elb",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    load-server-state-from-file global",
        # On a reload the old worker keeps an idle keep-alive connection until its next
        # request is answered (with Connection: close) instead of closing it under a client
        # that may be sending: a reload then fails no keep-alive request.
        "    option idle-close-on-response",
        *render_structure(topology, paths=paths, time_scale=time_scale, servers=servers),
    ]
    return "\n".join(lines) + "\n"
