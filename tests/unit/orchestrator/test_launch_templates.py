from __future__ import annotations

import pytest

from orchestrator.launch_templates import (
    LaunchTemplateData,
    LaunchTemplateError,
    create_launch_template,
    find,
    launch_template_id,
)

V1 = LaunchTemplateData(image="barista:1")
V2 = LaunchTemplateData(image="barista:2", command=("barista",))
V3 = LaunchTemplateData(image="barista:3")


def template():
    return create_launch_template("baristas", V1).create_version(V2).create_version(V3)


def test_versions_are_numbered_from_one_and_default_stays_on_one():
    lt = template()
    assert sorted(lt.versions) == [1, 2, 3]
    assert lt.latest_version_number == 3
    assert lt.default_version_number == 1


@pytest.mark.parametrize(
    ("version", "expected"),
    [("$Latest", (3, V3)), ("$Default", (1, V1)), (None, (1, V1)), ("2", (2, V2)), (2, (2, V2))],
)
def test_resolve_names_and_numbers(version, expected):
    assert template().resolve(version) == expected


def test_default_version_moves_only_when_asked():
    lt = template().with_default_version("$Latest")
    assert lt.resolve("$Default") == (3, V3)
    assert lt.create_version(V1).resolve("$Default") == (3, V3)


def test_unknown_version_is_refused_with_ec2s_code():
    lt = template()
    with pytest.raises(LaunchTemplateError) as error:
        lt.resolve(7)
    assert error.value.code == "InvalidLaunchTemplateId.VersionNotFound"
    assert "version 7" in error.value.message
    assert lt.launch_template_id in error.value.message


def test_malformed_version_is_refused():
    with pytest.raises(LaunchTemplateError) as error:
        template().resolve("newest")
    assert error.value.code == "InvalidLaunchTemplateId.VersionNotFound"


def test_unknown_template_name_is_refused_with_ec2s_code_and_message():
    with pytest.raises(LaunchTemplateError) as error:
        find({"baristas": template()}, "cashiers")
    assert error.value.code == "InvalidLaunchTemplateName.NotFoundException"
    assert error.value.message == (
        "The specified launch template, with template name cashiers, does not exist."
    )


def test_template_id_is_stable_and_shaped_like_ec2s():
    assert template().launch_template_id == launch_template_id("baristas")
    assert launch_template_id("baristas").startswith("lt-")
    assert len(launch_template_id("baristas")) == 20
