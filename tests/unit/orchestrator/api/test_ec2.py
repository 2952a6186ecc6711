"""EC2 launch template actions over HTTP: versions, instance types, refused keys."""

from __future__ import annotations

from pathlib import Path

from orchestrator.asg.store import Store
from orchestrator.launch_templates import decode_user_data, encode_user_data
from tests.unit.orchestrator.api.conftest import Call, error_of

DATA = {
    "ImageId": "barista/service:latest",
    "InstanceType": "t3.small",
    "BaristaContainer": {
        "Command": ["barista", "serve", "barista"],
        "Environment": {"BARISTA_BROKER_URL": "redis://redis:6379"},
        "StopTimeout": 20,
    },
}


def test_create_stores_container_fields_and_limits(ec2: Call, store_path: Path):
    created = ec2("CreateLaunchTemplate", LaunchTemplateName="baristas", LaunchTemplateData=DATA)
    summary = created["LaunchTemplate"]
    assert summary["LaunchTemplateName"] == "baristas"
    assert summary["LaunchTemplateId"].startswith("lt-")
    assert (summary["DefaultVersionNumber"], summary["LatestVersionNumber"]) == (1, 1)
    with Store(store_path) as store:
        data = store.launch_templates()["baristas"].versions[1]
    assert data.image == "barista/service:latest"
    assert data.command == ("barista", "serve", "barista")
    assert data.environment == {"BARISTA_BROKER_URL": "redis://redis:6379"}
    assert (data.cpus, data.memory_mib) == (0.5, 2048)  # 2 vCPU x 0.25 core, 2 GiB
    assert data.stop_timeout == 20


def test_versions_inherit_from_the_source_and_default_moves_only_when_asked(ec2: Call):
    ec2("CreateLaunchTemplate", LaunchTemplateName="baristas", LaunchTemplateData=DATA)
    version = ec2(
        "CreateLaunchTemplateVersion",
        LaunchTemplateName="baristas",
        SourceVersion="1",
        LaunchTemplateData={"ImageId": "barista/service:v2"},
    )["LaunchTemplateVersion"]
    assert version["VersionNumber"] == 2
    assert version["DefaultVersion"] is False
    assert version["LaunchTemplateData"]["ImageId"] == "barista/service:v2"
    assert version["LaunchTemplateData"]["InstanceType"] == "t3.small"
    assert version["LaunchTemplateData"]["BaristaContainer"]["StopTimeout"] == 20
    modified = ec2("ModifyLaunchTemplate", LaunchTemplateName="baristas", DefaultVersion="2")
    assert modified["LaunchTemplate"]["DefaultVersionNumber"] == 2
    versions = ec2("DescribeLaunchTemplateVersions", LaunchTemplateName="baristas")
    assert [v["VersionNumber"] for v in versions["LaunchTemplateVersions"]] == [2, 1]
    assert [v["DefaultVersion"] for v in versions["LaunchTemplateVersions"]] == [True, False]
    latest = ec2(
        "DescribeLaunchTemplateVersions", LaunchTemplateName="baristas", Versions=["$Default"]
    )
    assert [v["VersionNumber"] for v in latest["LaunchTemplateVersions"]] == [2]


def test_describe_by_id_and_unknown_names(ec2: Call):
    created = ec2("CreateLaunchTemplate", LaunchTemplateName="baristas", LaunchTemplateData=DATA)
    template_id = created["LaunchTemplate"]["LaunchTemplateId"]
    found = ec2("DescribeLaunchTemplates", LaunchTemplateIds=[template_id])
    assert [t["LaunchTemplateName"] for t in found["LaunchTemplates"]] == ["baristas"]
    body = ec2("DescribeLaunchTemplates", expect=400, LaunchTemplateNames=["nope"])
    assert error_of(body) == (
        "InvalidLaunchTemplateName.NotFoundException",
        "The specified launch template, with template name nope, does not exist.",
    )


def test_duplicate_name_is_refused(ec2: Call):
    ec2("CreateLaunchTemplate", LaunchTemplateName="baristas", LaunchTemplateData=DATA)
    body = ec2(
        "CreateLaunchTemplate", expect=400, LaunchTemplateName="baristas", LaunchTemplateData=DATA
    )
    assert error_of(body) == (
        "InvalidLaunchTemplateName.AlreadyExistsException",
        "Launch template name already in use: baristas.",
    )


def test_user_data_carries_the_container_document_and_a_shell_script_is_refused(ec2: Call):
    container = {"Command": ["serve", "barista"], "Environment": {"A": "1"}, "StopTimeout": 5}
    ec2(
        "CreateLaunchTemplate",
        LaunchTemplateName="tpl",
        LaunchTemplateData={"ImageId": "x", "UserData": encode_user_data(container)},
    )
    (version,) = ec2("DescribeLaunchTemplateVersions", LaunchTemplateName="tpl")[
        "LaunchTemplateVersions"
    ]
    data = version["LaunchTemplateData"]
    assert data["BaristaContainer"]["Command"] == ["serve", "barista"]
    assert decode_user_data(data["UserData"])["Environment"] == {"A": "1"}
    body = ec2(
        "CreateLaunchTemplate",
        expect=400,
        LaunchTemplateName="script",
        LaunchTemplateData={"ImageId": "x", "UserData": "IyEvYmluL3No"},  # "#!/bin/sh"
    )
    code, message = error_of(body)
    assert code == "InvalidUserData.Malformed"
    assert "base64 of a JSON object" in message


def test_unknown_keys_are_refused_by_name(ec2: Call):
    body = ec2(
        "CreateLaunchTemplate",
        expect=400,
        LaunchTemplateName="tpl",
        LaunchTemplateData={"ImageId": "x", "KeyName": "k", "SecurityGroupIds": ["sg-1"]},
    )
    code, message = error_of(body)
    assert code == "UnknownParameter"
    assert "LaunchTemplateData.KeyName" in message
    assert "LaunchTemplateData.SecurityGroupIds" in message
    body = ec2(
        "CreateLaunchTemplate",
        expect=400,
        LaunchTemplateName="tpl",
        LaunchTemplateData={"ImageId": "x", "BaristaContainer": {"Comand": ["x"]}},
    )
    assert error_of(body)[1].startswith(
        'Unknown parameter in input at LaunchTemplateData.BaristaContainer: "Comand", '
        "must be one of: Command, Environment, Network, StopTimeout, Cpus, MemoryMiB"
    )
    body = ec2(
        "CreateLaunchTemplate",
        expect=400,
        LaunchTemplateName="tpl",
        LaunchTemplateData={"ImageId": "x", "BaristaContainer": {"StopTimeout": -1}},
    )
    assert error_of(body)[1] == (
        "1 validation error detected: Value '-1' at "
        "'launchTemplateData.baristaContainer.stopTimeout' failed to satisfy constraint: "
        "Member must have value greater than or equal to 0"
    )
    body = ec2(
        "CreateLaunchTemplate",
        expect=400,
        LaunchTemplateName="tpl",
        LaunchTemplateData={"ImageId": "x", "InstanceType": "p5.48xlarge"},
    )
    assert error_of(body)[0] == "InvalidParameterValue"
    assert "t3.micro" in error_of(body)[1]


def test_delete_refuses_a_template_a_group_uses(ec2: Call, autoscaling: Call, group: str):
    body = ec2("DeleteLaunchTemplate", expect=400, LaunchTemplateName="baristas")
    assert error_of(body)[0] == "DependencyViolation"
    autoscaling("DeleteAutoScalingGroup", AutoScalingGroupName=group)
    deleted = ec2("DeleteLaunchTemplate", LaunchTemplateName="baristas")
    assert deleted["LaunchTemplate"]["LaunchTemplateName"] == "baristas"
    assert ec2("DescribeLaunchTemplates") == {"LaunchTemplates": []}


def test_limits_without_an_instance_type_read_back_as_extension(ec2: Call):
    ec2(
        "CreateLaunchTemplate",
        LaunchTemplateName="odd",
        LaunchTemplateData={"ImageId": "x", "BaristaContainer": {"Cpus": 0.3, "MemoryMiB": 300}},
    )
    (version,) = ec2("DescribeLaunchTemplateVersions", LaunchTemplateName="odd")[
        "LaunchTemplateVersions"
    ]
    data = version["LaunchTemplateData"]
    assert "InstanceType" not in data
    assert (data["BaristaContainer"]["Cpus"], data["BaristaContainer"]["MemoryMiB"]) == (0.3, 300)
