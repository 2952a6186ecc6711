"""The adapter bench's table: one row per batch size, ratios against their goals."""

from __future__ import annotations

from tests.bench import adapters


def _samples() -> adapters.Samples:
    samples = adapters.Samples()
    for path, operation, rates in [
        ("native", "produce", [100_000, 80_000, 120_000]),
        ("raw", "produce", [40_000, 50_000, 45_000]),
        ("adapter", "produce-100", [9_000, 9_000, 9_000]),
        ("adapter", "produce-1000", [44_000, 42_000, 43_000]),
        ("raw", "consume", [10_000]),
        ("adapter", "consume", [9_500, 9_100]),
    ]:
        for rate in rates:
            samples.add(path, operation, rate)
    return samples


def test_each_adapter_batch_size_is_a_row_beside_the_same_native_and_raw_medians():
    lines = adapters.table({"kafka": _samples()})
    assert len(lines) == 2 + len(adapters.PRODUCE_BATCHES) + 1
    by_label = {line.split(" | ")[1]: line.split(" | ") for line in lines[2:]}
    small, large = by_label["produce, send_batch of 100"], by_label["produce, send_batch of 1,000"]
    assert small[2:5] == ["100,000", "45,000", "9,000"]
    assert large[2:5] == ["100,000", "45,000", "43,000"]
    assert small[5] == "0.45"  # raw ÷ native, at its goal or above: plain
    assert small[6].startswith("**0.20**")  # adapter ÷ raw below 0.9: bold
    assert large[6].startswith("0.96")


def test_a_path_not_run_shows_a_dash_and_no_ratio():
    consume = adapters.table({"kafka": _samples()})[-1].split(" | ")
    assert consume[1:5] == ["consume, 10 per receive", "—", "10,000", "9,300"]
    assert consume[5] == "—"
    assert consume[6].startswith("0.93")
