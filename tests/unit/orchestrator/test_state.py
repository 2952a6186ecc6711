from __future__ import annotations

import sqlite3

import pytest

from orchestrator.asg import (
    Activity,
    ActivityStatusCode,
    create_auto_scaling_group,
    set_instance_protection,
    suspend_processes,
)
from orchestrator.launch_templates import create_launch_template
from orchestrator.model import LaunchTemplateData
from orchestrator.state import SCHEMA_VERSION, SchemaVersionError, Store


def sample_group():
    group = create_auto_scaling_group(
        "baristas",
        "baristas-lt",
        min_size=1,
        max_size=5,
        desired_capacity=2,
        availability_zones=["az-a", "az-b"],
        launch_template_version="$Latest",
        health_check_type="ELB",
        health_check_grace_period=60,
        termination_policies=["OldestInstance", "Default"],
        new_instances_protected_from_scale_in=True,
    )
    group = set_instance_protection(group, ["i-1", "i-2"], protected_from_scale_in=True)
    return suspend_processes(group, ["AZRebalance", "Launch"])


def sample_template():
    return create_launch_template(
        "baristas-lt",
        LaunchTemplateData(
            image="barista:1", command=("barista", "--fast"), environment={"A": "1"}
        ),
    ).create_version(LaunchTemplateData(image="barista:2", cpus=0.5, memory_mib=256))


def test_everything_survives_reopening_the_file(tmp_path):
    path = tmp_path / "barista.db"
    group, template = sample_group(), sample_template()
    older = Activity("a-1", "baristas", "Launching a new EC2 instance: i-1", "because", 10.0)
    newer = Activity("a-2", "baristas", "Terminating EC2 instance: i-1", "because", 20.0)
    with Store(path) as store:
        store.put_launch_template(template)
        store.put_group(group)
        store.record_activities([older, newer])

    with Store(path) as reopened:
        assert reopened.launch_templates() == {"baristas-lt": template}
        assert reopened.groups() == {"baristas": group}
        assert reopened.activities("baristas") == [newer, older]


def test_activity_status_updates_rewrite_the_same_entry(tmp_path):
    with Store(tmp_path / "barista.db") as store:
        started = Activity("a-1", "baristas", "Launching a new EC2 instance: i-1", "cause", 10.0)
        store.record_activities([started])
        done = Activity(
            "a-1",
            "baristas",
            started.description,
            started.cause,
            10.0,
            status_code=ActivityStatusCode.SUCCESSFUL,
            end_time=12.0,
            progress=100,
        )
        store.record_activities([done])
        assert store.activities() == [done]


def test_deleting_a_group_deletes_its_history(tmp_path):
    with Store(tmp_path / "barista.db") as store:
        store.put_group(sample_group())
        store.record_activities([Activity("a-1", "baristas", "d", "c", 1.0)])
        store.delete_group("baristas")
        assert store.groups() == {}
        assert store.activities("baristas") == []


def test_schema_is_versioned_and_newer_files_are_refused(tmp_path):
    path = tmp_path / "barista.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError):
        Store(path)
