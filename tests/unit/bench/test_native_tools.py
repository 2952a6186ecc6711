"""The adapter bench reads each broker tool's rate from its own summary: what it must find."""

from __future__ import annotations

import pytest

from tests.bench import native

PRODUCER_PERF = (
    "2976 records sent, 595.1 records/sec (0.17 MB/sec), 1456.3 ms avg latency, "
    "4771.0 ms max latency.\n"
    "10000 records sent, 31746.031746 records/sec (9.08 MB/sec), 160.21 ms avg latency, "
    "404.00 ms max latency, 151 ms 50th, 330 ms 95th, 360 ms 99th, 401 ms 99.9th.\n"
)

CONSUMER_PERF = (
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
    "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
    "2026-12-04 19:50:01:123, 2026-12-04 19:50:02:456, 2.8610, 2.1463, 10000, 7501.8755, "
    "345, 988, 2.8958, 10121.4575\n"
)

SHARE_CONSUMER_PERF = (
    "[2026-12-04 19:50:00,101] WARN a log line, with a comma, and another, and more, and more\n"
    "start.time, end.time, data.consumed.in.MB, MB.sec, nMsg.sec, data.consumed.in.nMsg, "
    "fetch.time.ms\n"
    "2026-12-04 19:50:01:123, 2026-12-04 19:50:03:123, 2.8610, 1.4305, 5000.0000, 10000, 2000\n"
)

REDIS_BENCHMARK = (
    "Warning: Using a password with '-a' or '-u' option on the command line interface may not "
    "be safe.\n"
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
    '"p99_latency_ms","max_latency_ms"\n'
    '"XADD native:q * body {"order_id": "x", "notes": "extra hot, no foam"} barista-id 000",'
    '"98039.22","0.463","0.128","0.455","0.631","0.727","1.183"\n'
)

PERF_TEST = """\
id: test-195012-311, time 1.000 s, sent: 18234 msg/s, confirmed: 17011 msg/s, nacked: 0 msg/s
id: test-195012-311, sending rate avg: 19876 msg/s
id: test-195012-311, receiving rate avg: 0 msg/s
id: test-195012-311, consumer latency min/median/75th/95th/99th 0/0/0/0/0 µs
"""


def test_the_producer_perf_test_rate_is_its_closing_total_not_an_interim_report():
    assert native.producer_performance_rate(PRODUCER_PERF) == pytest.approx(31746.031746)


def test_after_a_warm_up_the_producer_perf_test_rate_is_the_steady_state_one():
    steady = PRODUCER_PERF + (
        "9900 steady state records sent, 45000.5 records/sec (12.87 MB/sec), 20.1 ms avg "
        "latency, 98.0 ms max latency, 18 ms 50th, 40 ms 95th, 60 ms 99th, 90 ms 99.9th.\n"
    )
    assert native.producer_performance_rate(steady) == pytest.approx(45000.5)


def test_the_consumer_perf_test_rate_is_nmsg_sec_read_by_its_column_name():
    assert native.consumer_performance_rate(CONSUMER_PERF, 10000) == pytest.approx(7501.8755)
    assert native.consumer_performance_rate(SHARE_CONSUMER_PERF, 10000) == pytest.approx(5000)


def test_a_consumer_perf_test_that_read_fewer_messages_than_asked_is_an_error():
    with pytest.raises(native.ToolOutputError, match="consumed 10000 of 12000"):
        native.consumer_performance_rate(CONSUMER_PERF, 12000)


def test_redis_benchmark_rps_is_found_though_the_title_has_unescaped_quotes_and_commas():
    assert native.redis_benchmark_rate(REDIS_BENCHMARK) == pytest.approx(98039.22)


def test_perf_test_rates_come_from_its_summary_by_direction():
    assert native.perf_test_rate(PERF_TEST, "sending") == 19876
    assert native.perf_test_rate(PERF_TEST, "receiving") == 0


@pytest.mark.parametrize(
    "parse",
    [
        native.producer_performance_rate,
        lambda output: native.consumer_performance_rate(output, 1),
        native.redis_benchmark_rate,
        lambda output: native.perf_test_rate(output, "sending"),
    ],
)
def test_output_without_a_summary_is_an_error_that_shows_the_output(parse):
    with pytest.raises(native.ToolOutputError, match="Connection refused"):
        parse("ERROR: Connection refused\n")


def test_kafka_tool_config_logs_in_with_the_bench_credentials():
    config = native.kafka_client_properties(native.Credentials("bench-ab12", "s3cret"))
    assert "security.protocol=SASL_PLAINTEXT" in config.splitlines()
    assert 'username="bench-ab12" password="s3cret";' in config
