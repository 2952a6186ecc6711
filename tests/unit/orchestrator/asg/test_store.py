from __future__ import annotations

import json
import sqlite3

import pytest

from orchestrator.asg import (
    Activity,
    ActivityStatusCode,
    create_auto_scaling_group,
    set_instance_protection,
    suspend_processes,
)
from orchestrator.asg.store import SCHEMA_VERSION, SchemaVersionError, Store
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.scaling import (
    AdjustmentType,
    StepAdjustment,
    StepScalingPolicy,
    TargetTrackingConfiguration,
)
from orchestrator.scaling.alarms import ComparisonOperator, MetricAlarm
from orchestrator.scaling.metrics import CpuUtilizationMetric, QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.scaling.scheduled import ScheduledAction


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


def test_an_activity_stored_under_its_old_field_name_still_reads(tmp_path):
    """Activities were stored with ``auto_scaling_group_name`` before ECS shared the type."""
    path = tmp_path / "barista.db"
    with Store(path) as store:
        store.put_group(sample_group())
    document = {
        "activity_id": "a-old",
        "auto_scaling_group_name": "baristas",
        "description": "Launching a new EC2 instance: i-1",
        "cause": "because",
        "start_time": 5.0,
        "status_code": "Successful",
        "end_time": 6.0,
        "status_message": "",
        "progress": 100,
        "availability_zone": "az-a",
    }
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO scaling_activities "
            "(activity_id, auto_scaling_group_name, start_time, document) VALUES (?, ?, ?, ?)",
            ("a-old", "baristas", 5.0, json.dumps(document)),
        )
    with Store(path) as reopened:
        [activity] = reopened.activities("baristas")
    assert (activity.resource_id, activity.status_code) == (
        "baristas",
        ActivityStatusCode.SUCCESSFUL,
    )


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


def test_policies_alarms_schedules_and_datapoints_survive_reopening(tmp_path):
    tracking = ScalingPolicy(
        "baristas",
        "backlog",
        TargetTrackingPolicy(
            QueueBacklogMetric("orders"), TargetTrackingConfiguration(target_value=10)
        ),
    )
    step = ScalingPolicy(
        "baristas",
        "cpu-steps",
        StepScalingPolicy(
            "cpu-steps",
            AdjustmentType.CHANGE_IN_CAPACITY,
            (StepAdjustment(1, 0, 20), StepAdjustment(2, 20, None)),
        ),
    )
    alarm = MetricAlarm(
        "cpu-high",
        CpuUtilizationMetric("baristas"),
        ComparisonOperator.GREATER_THAN_THRESHOLD,
        60,
        evaluation_periods=2,
        alarm_actions=(step.policy_arn,),
    )
    action = ScheduledAction("baristas", "morning", recurrence="0 8 * * *", desired_capacity=4)
    with Store(tmp_path / "b.db") as store:
        store.put_policy(tracking)
        store.put_policy(step)
        store.put_alarm(alarm)
        store.put_scheduled_action(action, created_at=100.0)
        store.mark_scheduled_action_checked(action, 200.0)
        for t in range(10):
            store.record_datapoint("s", float(t), t * 1.5, keep=5)
        assert store.setting("clock-origin", "1.5") == "1.5"
    with Store(tmp_path / "b.db") as store:
        assert store.policies("baristas") == [tracking, step]
        assert store.alarms() == [alarm]
        assert step.answers_to(store.alarms()[0].alarm_actions[0])
        assert store.scheduled_actions() == [(action, 200.0)]
        assert store.datapoints("s", limit=3) == [(9.0, 13.5), (8.0, 12.0), (7.0, 10.5)]
        assert len(store.datapoints("s")) == 6  # points older than 9 - 5 were forgotten
        assert store.setting("clock-origin", "9.9") == "1.5"  # the first writer wins
        assert store.delete_policy("baristas", "backlog")
        assert not store.delete_policy("baristas", "backlog")


def test_a_version_1_file_is_migrated(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE launch_templates (name TEXT PRIMARY KEY, document TEXT)")
        db.execute("CREATE TABLE auto_scaling_groups (name TEXT PRIMARY KEY, document TEXT)")
        db.execute(
            "CREATE TABLE scaling_activities (activity_id TEXT PRIMARY KEY, "
            "auto_scaling_group_name TEXT, start_time REAL, document TEXT)"
        )
        db.execute("PRAGMA user_version = 1")
    with Store(path) as store:
        assert store.policies() == []
        assert store.scheduled_actions() == []
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_version_4_moves_ecs_datapoints_into_the_one_datapoint_table(tmp_path):
    path = tmp_path / "v3.db"
    with Store(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE ecs_datapoints (series TEXT NOT NULL, timestamp REAL NOT NULL, "
            "value REAL NOT NULL, PRIMARY KEY (series, timestamp))"
        )
        db.executemany(
            "INSERT INTO ecs_datapoints VALUES (?, ?, ?)",
            [("service/shop/baristas/BacklogPerTask/orders", t, v) for t, v in ((60, 5), (120, 7))],
        )
        db.execute("PRAGMA user_version = 3")
    with Store(path) as store:
        assert store.datapoints("service/shop/baristas/BacklogPerTask/orders") == [
            (120.0, 7.0),
            (60.0, 5.0),
        ]
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        assert "ecs_datapoints" not in tables
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
