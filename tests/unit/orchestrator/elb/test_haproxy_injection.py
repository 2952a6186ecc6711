"""HAProxy's attack surface: no value a caller gives a load balancer can add a line to
haproxy.cfg or change its words, and its admin sockets are reachable by the orchestrator alone."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck as Settings
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.elb import validation
from orchestrator.elb.haproxy_config import HaproxyPaths, quote, render
from orchestrator.elb.model import (
    Action,
    ActionType,
    ConditionField,
    FixedResponseConfig,
    Listener,
    LoadBalancer,
    LoadBalancerType,
    Protocol,
    RedirectConfig,
    Rule,
    RuleCondition,
    TargetGroup,
)
from orchestrator.elb.topology import ElbTopology
from orchestrator.errors import ValidationError
from orchestrator.time_scale import TimeScale

ALB = LoadBalancer("arn:lb/app", "web", LoadBalancerType.APPLICATION, 0.0)
ORDERS = TargetGroup("arn:tg/orders", "orders", Protocol.HTTP, 8000)
LISTENER = Listener(
    "arn:listener/9080",
    ALB.load_balancer_arn,
    Protocol.HTTP,
    9080,
    (Action.forward("arn:tg/orders"),),
)
# The report: one header name that rendered as three lines, the middle one serving a file.
INJECTED = "X-A) -m found\n    http-request return status 200 file /etc/passwd\n    acl x req.hdr(b"
# Any text at all, control characters, quotes, backslashes and line separators included.
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    [INJECTED, "a'b", "a\\", "#x", "${HOME}", "\r\n", "\x00", "\u2028", "\x85"]
)
QUIET = settings(max_examples=300, suppress_health_check=[Settings.too_slow])


def _render(*conditions: RuleCondition, action: Action | None = None) -> str:
    rule = Rule(
        "arn:rule/1",
        LISTENER.listener_arn,
        1,
        conditions,
        (action or Action.forward(ORDERS.target_group_arn),),
    )
    topology = ElbTopology((ALB,), (LISTENER,), (rule,), (ORDERS,))
    return render(topology, {}, paths=HaproxyPaths(), time_scale=TimeScale())


BASELINE_LINES = len(
    _render(
        RuleCondition(ConditionField.HTTP_HEADER, ("v",), "X-Test"),
        action=Action(
            ActionType.FIXED_RESPONSE, fixed_response=FixedResponseConfig("200", "text/plain", "b")
        ),
    ).split("\n")
)


def _assert_no_line_added(text: str) -> None:
    assert len(text.split("\n")) == BASELINE_LINES
    # Nothing a reader could take for a line break, nor any other control character.
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\x85\u2028\u2029]", text)


_PIECE = re.compile(
    r"'(?P<quoted>[^']*)'|\\x(?P<hex>[0-9a-fA-F]{2})|\\(?P<escaped>.)"
    r"|(?P<space>[ \t]+)|(?P<plain>[^ \t'\\#]+)"
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def haproxy_words(line: str) -> list[str]:
    """HAProxy's reading of a config line into words (cfgparse's parse_line): single quotes keep
    everything literal, backslash escapes (``\\'``, ``\\xNN``) work outside them, adjacent parts
    join into one word."""
    words: list[bytes] = []
    current: bytearray | None = None
    position = 0
    while position < len(line) and line[position] != "#":
        piece = _PIECE.match(line, position)
        assert piece, f"HAProxy would not read {line[position:]!r}"
        position = piece.end()
        if piece["space"] is not None:
            if current is not None:
                words.append(bytes(current))
            current = None
            continue
        current = current if current is not None else bytearray()
        if piece["hex"] is not None:
            current.append(int(piece["hex"], 16))
        elif piece["escaped"] is not None:
            current += _ESCAPES.get(piece["escaped"], piece["escaped"]).encode()
        else:
            current += (piece["quoted"] if piece["quoted"] is not None else piece["plain"]).encode()
    if current is not None:
        words.append(bytes(current))
    return [word.decode("utf-8", "surrogatepass") for word in words]


@given(ANY_TEXT)
@QUIET
def test_quote_is_one_word_that_haproxy_reads_back_as_the_text(text: str) -> None:
    line = f"string {quote(text)} if x"
    assert "\n" not in line
    assert haproxy_words(line) == ["string", text, "if", "x"]


def test_the_reported_header_name_is_refused_by_validation() -> None:
    condition = RuleCondition(ConditionField.HTTP_HEADER, ("v",), INJECTED)
    with pytest.raises(ValidationError, match="HTTP header name"):
        validation.rule(1, (condition,), ())


def test_the_reported_header_name_adds_no_line_even_past_validation() -> None:
    text = _render(RuleCondition(ConditionField.HTTP_HEADER, ("v",), INJECTED))
    _assert_no_line_added(text)
    assert "/etc/passwd" not in text


@given(ANY_TEXT)
@QUIET
def test_no_header_name_adds_a_config_line(name: str) -> None:
    _assert_no_line_added(_render(RuleCondition(ConditionField.HTTP_HEADER, ("v",), name or "x")))


@given(ANY_TEXT)
@QUIET
def test_validation_accepts_only_token_header_names(name: str) -> None:
    condition = RuleCondition(ConditionField.HTTP_HEADER, ("v",), name)
    try:
        validation.rule(1, (condition,), ())
    except ValidationError:
        return
    assert re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,40}", name)


@given(
    st.sampled_from(list(ConditionField)),
    st.lists(ANY_TEXT, min_size=1, max_size=3),
)
@QUIET
def test_no_condition_value_adds_a_config_line(field: ConditionField, values: list[str]) -> None:
    header = "X-Test" if field is ConditionField.HTTP_HEADER else None
    _assert_no_line_added(_render(RuleCondition(field, tuple(values), header)))


@given(ANY_TEXT, ANY_TEXT)
@QUIET
def test_no_fixed_response_adds_a_config_line(content_type: str, body: str) -> None:
    response = FixedResponseConfig("200", content_type, body or "b")
    action = Action(ActionType.FIXED_RESPONSE, fixed_response=response)
    _assert_no_line_added(
        _render(RuleCondition(ConditionField.HTTP_HEADER, ("v",), "X-Test"), action=action)
    )


@given(ANY_TEXT, ANY_TEXT, ANY_TEXT, ANY_TEXT)
@QUIET
def test_no_redirect_adds_a_config_line(host: str, port: str, path: str, query: str) -> None:
    redirect = RedirectConfig("HTTP_301", "HTTPS", host, port, path, query)
    action = Action(ActionType.REDIRECT, redirect=redirect)
    _assert_no_line_added(
        _render(RuleCondition(ConditionField.HTTP_HEADER, ("v",), "X-Test"), action=action)
    )


@pytest.mark.parametrize(
    "condition",
    [
        RuleCondition(ConditionField.PATH_PATTERN, ("/a\n/b",)),
        RuleCondition(ConditionField.HOST_HEADER, ("a\x00b",)),
        RuleCondition(ConditionField.HTTP_REQUEST_METHOD, ("GET POST",)),
        RuleCondition(ConditionField.HTTP_HEADER, ("v",), "X" * 41),
        RuleCondition(ConditionField.HTTP_HEADER, ("v",), "X Test"),
        RuleCondition(ConditionField.HTTP_HEADER, ("v" * 129,), "X-Test"),
    ],
)
def test_validation_refuses_conditions_aws_refuses(condition: RuleCondition) -> None:
    with pytest.raises(ValidationError):
        validation.rule(1, (condition,), ())
