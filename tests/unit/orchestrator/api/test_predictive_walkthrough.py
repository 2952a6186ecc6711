"""docs/predictive-scaling.md's walk-through, steps 2 and 3, run as written with the real
``aws`` CLI against the demo's stack (fake runtime): the policy file, put-scaling-policy in
forecast-only mode, get-predictive-scaling-forecast (empty: no history yet), and the same
policy put again in ForecastAndScale with IncreaseMaxCapacity."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestrator.cli.demo import AWS_CONFIG_DIRECTORY
from tests.support.aws_endpoint import Endpoint
from tests.unit.orchestrator.api.test_aws_cli_docs import _run, demo  # noqa: F401 - the fixture

GUIDE = Path(__file__).parents[4] / "docs" / "predictive-scaling.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), re.DOTALL)


def test_the_walk_through_runs_as_written(demo: Endpoint, tmp_path: Path):  # noqa: F811
    [policy] = blocks("json")
    (tmp_path / "predictive.json").write_text(policy)
    profile = (
        f"export AWS_CONFIG_FILE={tmp_path / AWS_CONFIG_DIRECTORY / 'config'} AWS_PROFILE=barista\n"
    )
    [put] = [b for b in blocks("sh") if "put-scaling-policy" in b]
    [get] = [b for b in blocks("sh") if "get-predictive-scaling-forecast" in b]
    result = _run(profile + put + get, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []  # no history: no forecast
    scale = json.loads(policy) | {
        "Mode": "ForecastAndScale",
        "MaxCapacityBreachBehavior": "IncreaseMaxCapacity",
        "MaxCapacityBuffer": 10,
    }
    (tmp_path / "predictive.json").write_text(json.dumps(scale))
    described = _run(
        profile
        + put.rstrip()
        + " >/dev/null\n"
        + "aws autoscaling describe-policies --policy-types PredictiveScaling "
        "--query 'ScalingPolicies[0].PredictiveScalingConfiguration'\n",
        tmp_path,
    )
    assert described.returncode == 0, described.stderr
    answer = json.loads(described.stdout)
    assert answer["Mode"] == "ForecastAndScale"
    assert answer["MaxCapacityBuffer"] == 10
    assert answer["MetricSpecifications"][0]["TargetValue"] == 10.0
