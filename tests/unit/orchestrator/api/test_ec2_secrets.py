"""Launch template versions print no secret, and launch with the real ones."""

from __future__ import annotations

from pathlib import Path

from orchestrator.asg.store import Store
from tests.unit.orchestrator.api.conftest import Call

ENVIRONMENT = {
    "BROKER_URL": "amqp://barista:s3cret@rabbitmq:5672",
    "LEDGER_PASSWORD": "hunter2",
    "API_TOKEN": "abc",
    "SIGNING_KEY": "k",
    "QUEUE": "orders",
}


def test_describe_masks_secrets_and_the_store_keeps_them(ec2: Call, store_path: Path):
    created = ec2(
        "CreateLaunchTemplate",
        LaunchTemplateName="web",
        LaunchTemplateData={
            "ImageId": "barista/service:latest",
            "BaristaContainer": {
                "Environment": ENVIRONMENT,
                "Command": ["serve", "--ledger", "postgresql://ledger:pw@db/ledger"],
            },
        },
    )
    assert "s3cret" not in str(created)
    (version,) = ec2("DescribeLaunchTemplateVersions", LaunchTemplateName="web")[
        "LaunchTemplateVersions"
    ]
    container = version["LaunchTemplateData"]["BaristaContainer"]
    assert container["Environment"] == {
        "BROKER_URL": "amqp://barista:****@rabbitmq:5672",
        "LEDGER_PASSWORD": "****",
        "API_TOKEN": "****",
        "SIGNING_KEY": "****",
        "QUEUE": "orders",
    }
    assert container["Command"][-1] == "postgresql://ledger:****@db/ledger"
    with Store(store_path) as store:
        stored = store.launch_templates()["web"].versions[1]
    assert dict(stored.environment) == ENVIRONMENT
    # A new version from a source inherits the real values, not the masks.
    ec2(
        "CreateLaunchTemplateVersion",
        LaunchTemplateName="web",
        SourceVersion="1",
        LaunchTemplateData={"ImageId": "barista/service:2"},
    )
    with Store(store_path) as store:
        assert dict(store.launch_templates()["web"].versions[2].environment) == ENVIRONMENT
