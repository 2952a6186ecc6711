"""The ELB tables live beside the Auto Scaling store's, in the same file, without touching it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.asg.store import SCHEMA_VERSION, Store
from orchestrator.elb.model import (
    Action,
    ActionType,
    ConditionField,
    Listener,
    LoadBalancer,
    LoadBalancerType,
    Protocol,
    RedirectConfig,
    Rule,
    RuleCondition,
    Target,
    TargetGroup,
    TargetGroupAttributes,
    TargetGroupTuple,
)
from orchestrator.elb.state import ElbSchemaVersionError, ElbStore


def test_everything_reads_back_after_reopening(tmp_path: Path):
    path = tmp_path / "barista.db"
    load_balancer = LoadBalancer("arn:lb", "web", LoadBalancerType.APPLICATION, 12.5)
    target_group = TargetGroup(
        "arn:tg",
        "orders",
        Protocol.HTTP,
        8000,
        attributes=TargetGroupAttributes(stickiness_enabled=True),
    )
    listener = Listener(
        "arn:l",
        "arn:lb",
        Protocol.HTTP,
        9080,
        (Action(ActionType.FORWARD, (TargetGroupTuple("arn:tg", 3),)),),
    )
    rule = Rule(
        "arn:r",
        "arn:l",
        7,
        (RuleCondition(ConditionField.HTTP_HEADER, ("a*",), http_header_name="X-Env"),),
        (Action(ActionType.REDIRECT, redirect=RedirectConfig("HTTP_302", host="example.com")),),
    )
    with ElbStore(path) as store:
        store.put_load_balancer(load_balancer)
        store.put_target_group(target_group)
        store.put_listener(listener)
        store.put_rule(rule)
        store.register_targets("arn:tg", [Target("i-1", 8000)])
        store.deregister_targets("arn:tg", [Target("i-2", 8000)], now=5.0)
        store.attach_target_groups("asg", ["arn:tg"])
    with ElbStore(path) as store:
        assert store.load_balancers() == [load_balancer]
        assert store.target_groups() == [target_group]
        assert store.listeners() == [listener]
        assert store.rules() == [rule]
        assert store.registered_targets("arn:tg") == [Target("i-1", 8000)]
        assert [(d.target, d.started_at) for d in store.deregistrations()] == [
            (Target("i-2", 8000), 5.0)
        ]
        assert store.attachments() == {"asg": ["arn:tg"]}
        store.delete_load_balancer("arn:lb")
        assert store.listeners() == []
        assert store.rules() == []


def test_registering_again_cancels_a_deregistration(tmp_path: Path):
    with ElbStore(tmp_path / "barista.db") as store:
        store.deregister_targets("arn:tg", [Target("i-1", 80)], now=1.0)
        store.register_targets("arn:tg", [Target("i-1", 80)])
        assert store.deregistrations() == []


def test_the_asg_store_and_the_elb_store_share_a_file_and_keep_their_own_versions(tmp_path: Path):
    path = tmp_path / "barista.db"
    with ElbStore(path):
        pass
    with Store(path):
        pass
    with ElbStore(path):
        pass
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert connection.execute("SELECT version FROM elb_schema").fetchall() == [(1,)]
    connection.execute("UPDATE elb_schema SET version = 99")
    connection.commit()
    connection.close()
    with pytest.raises(ElbSchemaVersionError):
        ElbStore(path)
