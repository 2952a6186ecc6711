from __future__ import annotations

import json

from rich.console import Console

from orchestrator.compare import render
from orchestrator.compare.observations import (
    EXPERIMENTS,
    BackendReport,
    CrashRedelivery,
    Duplicates,
    Failed,
    FanOut,
    OfflineSubscriber,
    Ordering,
    PoisonMessage,
    Unsupported,
)
from orchestrator.compare.rows import MEASURES, NEITHER, build_rows

REFUSAL = "kafka keeps no deduplication ids: Features.deduplication=False"


def sqs_like_report(name: str = "redis") -> BackendReport:
    report = BackendReport(name, f"{name}://barista:***@127.0.0.1:1")
    report.results = {
        "fan-out": FanOut(20, (20, 20), 20, (11, 9), queue_lost=0, queue_duplicates=0),
        "offline-subscriber": OfflineSubscriber(5, durable_missed=0, fire_and_forget_missed=5),
        "ordering": Ordering(4, 8, 4, 3, competing_group_overlaps=9),
        "crash-redelivery": CrashRedelivery(3, 3, 2.04, 2.1, (2, 2, 2), visibility_timeout=2.0),
        "poison-message": PoisonMessage(3, (1, 2, 3), True, reason_kept=True, source_kept=True),
        "duplicates": Duplicates(1, 2, visibility_timeout=1.0, window=3.0),
    }
    report.seconds = dict.fromkeys(EXPERIMENTS, 1.5)
    return report


def kafka_like_report() -> BackendReport:
    report = sqs_like_report("kafka")
    report.results["crash-redelivery"] = CrashRedelivery(3, 3, 10.0, 10.0, (1, 1, 1), 2.0)
    report.results["duplicates"] = Duplicates(Unsupported(REFUSAL), 1, 1.0, 3.0)
    report.results["ordering"] = Unsupported("no message groups here")
    report.results["poison-message"] = Failed("BrokerUnavailable: kafka: timed out")
    return report


def unreachable_report() -> BackendReport:
    return BackendReport(
        "rabbitmq", "amqp://barista:***@127.0.0.1:5672", error="cannot reach amqp://…: refused"
    )


def cells(reports, key):
    [row] = [row for row in build_rows(reports) if row.key == key]
    return row.cells


def test_every_measure_gets_a_row_with_backends_then_aws_columns():
    reports = [kafka_like_report(), sqs_like_report()]
    rows = build_rows(reports)
    assert [row.key for row in rows] == [measure.key for measure in MEASURES]
    for row in rows:
        assert list(row.cells) == ["kafka", "redis", "aws-sns", "aws-sqs"]
        assert row.cells["aws-sns"].status == "reference"


def test_observed_values_are_read_out_with_their_aws_likeness():
    redis = cells([sqs_like_report()], "fan-out.queue")["redis"]
    assert (redis.text, redis.value, redis.like) == ("11 + 9 = 20", [11, 9], "like SQS")
    topic = cells([sqs_like_report()], "fan-out.topic")["redis"]
    assert (topic.text, topic.like) == ("20 / 20", "like SNS")
    crash = cells([kafka_like_report()], "crash.attempt")["kafka"]
    assert (crash.value, crash.like) == ([1], NEITHER)
    ordering = cells([sqs_like_report()], "ordering.competing")["redis"]
    assert (ordering.text, ordering.like) == ("3 of 4", "like SQS standard")


def test_a_lost_message_is_shown_and_is_not_sqs_like():
    report = sqs_like_report()
    report.results["fan-out"] = FanOut(20, (20, 20), 20, (10, 9), queue_lost=1, queue_duplicates=0)
    cell = cells([report], "fan-out.queue")["redis"]
    assert cell.text == "10 + 9 = 19 (1 lost, 0 duplicates)"
    assert cell.like == NEITHER


def test_refusals_errors_and_unreachable_backends_say_so_and_never_show_a_number():
    reports = [kafka_like_report(), unreachable_report()]
    dedup = cells(reports, "duplicates.dedup")["kafka"]
    assert (dedup.status, dedup.value) == ("unsupported", REFUSAL)
    assert dedup.text == f"not supported: {REFUSAL}"
    assert cells(reports, "ordering.overlaps")["kafka"].status == "unsupported"
    poison = cells(reports, "poison.receives")["kafka"]
    assert poison.status == "error"
    assert "timed out" in poison.text
    unreachable = cells(reports, "fan-out.topic")["rabbitmq"]
    assert (unreachable.status, unreachable.text) == ("error", "no connection")


def test_the_table_prints_every_column_and_the_adapters_reason():
    console = Console(record=True, width=250, color_system=None)
    reports = [kafka_like_report(), sqs_like_report(), unreachable_report()]
    render.print_table(reports, console)
    text = console.export_text()
    for header in ("kafka (consumer group)", "redis", "rabbitmq", "AWS SNS", "AWS SQS"):
        assert header in text
    assert "not supported: kafka keeps no deduplication ids" in text
    assert "11 + 9 = 20" in text
    assert "cannot reach amqp://" in text
    assert "Amazon SQS Developer Guide" in text


def test_json_has_the_same_rows_as_the_table_and_the_raw_observations():
    reports = [kafka_like_report(), sqs_like_report(), unreachable_report()]
    data = json.loads(render.dumps(reports))
    assert set(data) == {"through", "backends", "rows", "aws_sources", "windows"}
    assert data["through"] == "adapters"
    assert [row["key"] for row in data["rows"]] == [measure.key for measure in MEASURES]
    kafka, redis, rabbitmq = data["backends"]
    assert (kafka["ok"], redis["ok"], rabbitmq["ok"]) == (False, True, False)
    assert rabbitmq["error"].startswith("cannot reach")
    assert redis["results"]["fan-out"] == {
        "status": "observed",
        "published": 20,
        "per_subscription": [20, 20],
        "sent": 20,
        "per_consumer": [11, 9],
        "queue_lost": 0,
        "queue_duplicates": 0,
    }
    assert kafka["results"]["duplicates"]["dedup_copies_delivered"] == {"unsupported": REFUSAL}
    assert kafka["results"]["ordering"] == {
        "status": "unsupported",
        "reason": "no message groups here",
    }
    assert kafka["results"]["poison-message"]["status"] == "error"
    cell = data["rows"][0]["cells"]["redis"]
    assert cell == {"text": "20 / 20", "status": "observed", "value": [20, 20], "like": "like SNS"}
    assert data["windows"]["quiet_seconds"] > 0


def test_experiments_skipped_after_the_broker_stopped_answering_say_so_briefly():
    report = sqs_like_report()
    report.results["duplicates"] = Failed("not run: the broker did not answer in time (kafka: …)")
    cell = cells([report], "duplicates.slow")["redis"]
    assert (cell.status, cell.text) == ("error", "not run: the broker stopped answering")
    assert "kafka: …" in cell.value


def test_markdown_has_one_line_per_measure_and_every_column(tmp_path):
    reports = [kafka_like_report(), sqs_like_report()]
    lines = render.markdown(reports, "aws-api")
    assert "through Barista's SQS and SNS APIs" in lines[0]
    header = lines[2]
    assert header == "| experiment | measure | kafka (consumer group) | redis | AWS SNS | AWS SQS |"
    table = [line for line in lines[4:] if line.startswith("| ")]
    assert len(table) == len(MEASURES)
    assert all(line.count(" | ") == header.count(" | ") for line in table), table
    assert any(f"*not supported: {REFUSAL}*" in line for line in table), "refusals in italics"


def test_a_section_is_replaced_between_its_markers_and_the_rest_is_kept(tmp_path):
    page = tmp_path / "compare.md"
    page.write_text(
        "# Intro\n\n<!-- compare-adapters:start -->\nold\n<!-- compare-adapters:end -->\nend\n"
    )
    render.replace_section(page, "compare-adapters", ["new", "table"])
    render.replace_section(page, "compare-aws-api", ["second"])
    assert page.read_text() == (
        "# Intro\n\n<!-- compare-adapters:start -->\nnew\ntable\n<!-- compare-adapters:end -->\n"
        "end\n\n<!-- compare-aws-api:start -->\nsecond\n<!-- compare-aws-api:end -->\n"
    )


def test_each_kafka_queue_mode_is_a_column_of_its_own_named_by_its_mode():
    reports = [kafka_like_report(), sqs_like_report("kafka-share")]
    header = render.markdown(reports)[2]
    titles = header.split(" | ")[2:4]
    assert titles == ["kafka (consumer group)", "kafka (share group)"]
    crash = cells(reports, "crash.attempt")
    assert (crash["kafka"].value, crash["kafka-share"].value) == ([1], [2])


def test_the_aws_sources_are_a_list_under_their_heading():
    lines = render.markdown([sqs_like_report()])
    heading = lines.index("- AWS sources:")
    sources = lines[heading + 1 :]
    assert sources, "no sources listed"
    assert all(line.startswith("  - Amazon S") for line in sources), sources
