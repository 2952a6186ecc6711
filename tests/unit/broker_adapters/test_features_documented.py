"""The Features table in broker_adapters/README.md is the backends' declared Features."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from broker_adapters import BACKENDS, Broker, Features, backend_class
from broker_adapters.kafka.broker import KafkaShareBroker

README = Path(__file__).resolve().parents[3] / "broker_adapters" / "README.md"
# Every backend class, and the Kafka broker whose queues default to share groups.
VARIANTS: list[type[Broker]] = [*(backend_class(scheme) for scheme in BACKENDS), KafkaShareBroker]
DOCUMENTED = [
    f.name for f in dataclasses.fields(Features) if f.name not in {"name", "redelivery_after_crash"}
]


def documented_table() -> dict[str, dict[str, str]]:
    text = README.read_text()
    table = text.split("<!-- features:start -->")[1].split("<!-- features:end -->")[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in table.strip().splitlines()
    ]
    header, body = rows[0], rows[2:]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in body}


def test_the_readme_table_lists_every_feature_for_every_backend():
    table = documented_table()
    assert list(table) == DOCUMENTED
    names = {variant.features.name for variant in VARIANTS}
    for feature in DOCUMENTED:
        assert set(table[feature]) == names


def test_the_readme_table_equals_the_declared_features():
    table = documented_table()
    for variant in VARIANTS:
        features = variant.features
        for feature in DOCUMENTED:
            assert table[feature][features.name] == str(getattr(features, feature)), (
                features.name,
                feature,
            )
