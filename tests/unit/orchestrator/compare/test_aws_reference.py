from __future__ import annotations

from orchestrator.compare.aws import REFERENCE, sources
from orchestrator.compare.observations import EXPERIMENTS
from orchestrator.compare.rows import MEASURES


def test_every_measure_has_an_sns_and_an_sqs_fact_with_a_source():
    keys = [measure.key for measure in MEASURES]
    assert sorted(REFERENCE) == sorted(keys), "aws.REFERENCE and rows.MEASURES must match"
    for key, fact in REFERENCE.items():
        assert fact.sns.strip(), key
        assert fact.sqs.strip(), key
        assert fact.sources, key
        assert all("Developer Guide" in source for source in fact.sources), key


def test_every_experiment_has_at_least_one_row():
    assert {measure.experiment for measure in MEASURES} == set(EXPERIMENTS)


def test_measure_keys_are_unique():
    keys = [measure.key for measure in MEASURES]
    assert len(keys) == len(set(keys))


def test_the_reference_states_the_documented_defaults():
    assert "30 s" in REFERENCE["crash.after"].sqs
    assert "5-minute" in REFERENCE["duplicates.dedup"].sqs
    assert "maxReceiveCount" in REFERENCE["poison.receives"].sqs
    assert "every subscription" in REFERENCE["fan-out.topic"].sns


def test_sources_are_listed_once_each():
    listed = sources()
    assert len(listed) == len(set(listed))
    assert any("SNS" in source for source in listed)
    assert any("SQS" in source for source in listed)
