"""EC2's launch template actions: ``POST /api/ec2/{Action}`` (the Spot actions beside them
are ``orchestrator.api._spot``'s).

Versions are immutable (``orchestrator.launch_templates``): CreateLaunchTemplateVersion adds
one, ModifyLaunchTemplate only moves ``$Default``. LaunchTemplateData keeps EC2's keys where
they exist and puts Barista's container fields under ``BaristaContainer``
(``orchestrator.api._launch_data``). Not stored, hence refused as unknown parameters:
VersionDescription, TagSpecifications, DryRun. ``ClientToken`` is accepted and not used (the
SDKs send one with every create; a repeated create is refused by name anyway).

Describe answers mask secrets in a version's environment (variables named like a password,
secret, token or key, and the password in any URL): the store keeps the real values, which
launches need, but no API answer prints them.

The two describes page as EC2 does: ``MaxResults`` 1-200 (200 when not given), refused
outside that with ``InvalidParameterValue``, and a ``NextToken`` for the rest, refused with
``InvalidNextToken`` when Barista did not give it out (``orchestrator.paging``).

One deliberate difference from EC2: DeleteLaunchTemplate refuses a template that an Auto
Scaling group still launches from (``DependencyViolation``), because Barista's groups resolve
their template on every launch and would otherwise fail on the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from orchestrator.api import Action, ApiContext, Params
from orchestrator.api._launch_data import EXTENSION, USER_DATA, data_from_aws, data_to_aws
from orchestrator.api._requests import Request, parse
from orchestrator.api._spot import spot_actions
from orchestrator.arns import arn
from orchestrator.asg.store import Store
from orchestrator.errors import AwsError
from orchestrator.launch_templates import (
    DEFAULT,
    LATEST,
    LaunchTemplate,
    LaunchTemplateError,
    already_exists,
    create_launch_template,
    find_template,
    redacted,
)
from orchestrator.paging import Page, paginate

SERVICE = "ec2"
MAX_RESULTS = 200
CREATED_BY = arn("iam", "root", region="")

TemplateName = Field(default=None, min_length=3, max_length=128, pattern=r"^[a-zA-Z0-9().\-/_]+$")


class CreateLaunchTemplate(Request):
    launch_template_name: str = Field(
        min_length=3, max_length=128, pattern=r"^[a-zA-Z0-9().\-/_]+$"
    )
    launch_template_data: dict[str, Any]
    client_token: str | None = Field(default=None, max_length=255)


class TemplateRef(Request):
    launch_template_name: str | None = TemplateName
    launch_template_id: str | None = None


class CreateLaunchTemplateVersion(TemplateRef):
    launch_template_data: dict[str, Any]
    source_version: str | None = None
    client_token: str | None = Field(default=None, max_length=255)


class ModifyLaunchTemplate(TemplateRef):
    default_version: str


class Paged(Request):
    max_results: int | None = None
    next_token: str | None = None

    def page_size(self) -> int:
        """``MaxResults`` as EC2 takes it, or EC2's error in EC2's words."""
        if self.max_results is None:
            return MAX_RESULTS
        if not 1 <= self.max_results <= MAX_RESULTS:
            raise AwsError(
                "InvalidParameterValue",
                f"Value ( {self.max_results} ) for parameter maxResults is invalid. Expecting a "
                f"value between 1 and {MAX_RESULTS}.",
            )
        return self.max_results

    def refuse_token(self) -> AwsError:
        return AwsError("InvalidNextToken", f"The token '{self.next_token}' is invalid.")


class DescribeLaunchTemplates(Paged):
    launch_template_names: list[str] = Field(default_factory=list)
    launch_template_ids: list[str] = Field(default_factory=list)


class DescribeLaunchTemplateVersions(Paged):
    launch_template_name: str | None = None
    launch_template_id: str | None = None
    versions: list[str] = Field(default_factory=list)
    min_version: int | None = None
    max_version: int | None = None


def template_summary(template: LaunchTemplate) -> dict[str, Any]:
    """The ``LaunchTemplate`` structure EC2 answers (no CreateTime: Barista keeps none)."""
    return {
        "LaunchTemplateId": template.launch_template_id,
        "LaunchTemplateName": template.launch_template_name,
        "CreatedBy": CREATED_BY,
        "DefaultVersionNumber": template.default_version_number,
        "LatestVersionNumber": template.latest_version_number,
    }


def version_summary(template: LaunchTemplate, number: int) -> dict[str, Any]:
    return {
        "LaunchTemplateId": template.launch_template_id,
        "LaunchTemplateName": template.launch_template_name,
        "VersionNumber": number,
        "CreatedBy": CREATED_BY,
        "DefaultVersion": number == template.default_version_number,
        # Secrets in the environment are launched with but never printed.
        "LaunchTemplateData": data_to_aws(redacted(template.versions[number])),
    }


def _selected_versions(
    template: LaunchTemplate, request: DescribeLaunchTemplateVersions
) -> list[int]:
    if request.versions:
        numbers = {template.resolve(v)[0] for v in request.versions}
    else:
        numbers = set(template.versions)
    low = request.min_version if request.min_version is not None else 0
    high = (
        request.max_version if request.max_version is not None else template.latest_version_number
    )
    return sorted((n for n in numbers if low <= n <= high), reverse=True)


def _paged(member: str, documents: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
    """A describe's answer: ``member``, and ``NextToken`` unless it was the last page."""
    answer: dict[str, Any] = {member: documents}
    if page.next_token is not None:
        answer["NextToken"] = page.next_token
    return answer


def actions(context: ApiContext) -> dict[str, Action]:  # noqa: PLR0915 - one closure per action
    """EC2's launch template actions over the store at ``context.store_path``."""

    def create_template(params: Params) -> Mapping[str, Any]:
        request = parse(CreateLaunchTemplate, params)
        data = data_from_aws(request.launch_template_data)
        with Store(context.store_path) as store:
            if request.launch_template_name in store.launch_templates():
                raise already_exists(request.launch_template_name)
            template = create_launch_template(request.launch_template_name, data)
            store.put_launch_template(template)
        return {"LaunchTemplate": template_summary(template)}

    def create_version(params: Params) -> Mapping[str, Any]:
        request = parse(CreateLaunchTemplateVersion, params)
        with Store(context.store_path) as store:
            template = find_template(
                store.launch_templates(), request.launch_template_name, request.launch_template_id
            )
            raw = dict(request.launch_template_data)
            if request.source_version is not None:
                # EC2: the new version inherits the source's parameters except those given.
                _, source = template.resolve(request.source_version)
                inherited = data_to_aws(source)
                if USER_DATA in raw or EXTENSION in raw:
                    # A new container document replaces the source's, in either spelling.
                    inherited.pop(USER_DATA)
                    inherited.pop(EXTENSION)
                raw = {**inherited, **raw}
            updated = template.create_version(data_from_aws(raw))
            store.put_launch_template(updated)
        return {"LaunchTemplateVersion": version_summary(updated, updated.latest_version_number)}

    def modify_template(params: Params) -> Mapping[str, Any]:
        request = parse(ModifyLaunchTemplate, params)
        if request.default_version in (LATEST, DEFAULT):
            raise AwsError(
                "InvalidParameterValue",
                "DefaultVersion must be a version number, not $Latest or $Default.",
            )
        with Store(context.store_path) as store:
            template = find_template(
                store.launch_templates(), request.launch_template_name, request.launch_template_id
            )
            updated = template.with_default_version(request.default_version)
            store.put_launch_template(updated)
        return {"LaunchTemplate": template_summary(updated)}

    def describe_templates(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeLaunchTemplates, params)
        size = request.page_size()
        with Store(context.store_path) as store:
            templates = store.launch_templates()
        if request.launch_template_names or request.launch_template_ids:
            named = [find_template(templates, n, None) for n in request.launch_template_names]
            named += [find_template(templates, None, i) for i in request.launch_template_ids]
            chosen = list({t.launch_template_name: t for t in named}.values())
        else:
            chosen = list(templates.values())
        page = paginate(
            "launch-templates",
            chosen,
            lambda t: [t.launch_template_name],
            size,
            request.next_token,
            request.refuse_token,
        )
        return _paged("LaunchTemplates", [template_summary(t) for t in page.items], page)

    def describe_versions(params: Params) -> Mapping[str, Any]:
        request = parse(DescribeLaunchTemplateVersions, params)
        size = request.page_size()
        with Store(context.store_path) as store:
            templates = store.launch_templates()
        if request.launch_template_name is None and request.launch_template_id is None:
            chosen = list(templates.values())
        else:
            chosen = [
                find_template(templates, request.launch_template_name, request.launch_template_id)
            ]
        versions = [
            (template, number)
            for template in chosen
            for number in _selected_versions(template, request)
        ]
        page = paginate(
            "launch-template-versions",
            versions,
            # Template by template, newest version first.
            lambda v: [v[0].launch_template_name, -v[1]],
            size,
            request.next_token,
            request.refuse_token,
        )
        return _paged(
            "LaunchTemplateVersions", [version_summary(t, n) for t, n in page.items], page
        )

    def delete_template(params: Params) -> Mapping[str, Any]:
        request = parse(TemplateRef, params)
        with Store(context.store_path) as store:
            template = find_template(
                store.launch_templates(), request.launch_template_name, request.launch_template_id
            )
            users = sorted(
                name
                for name, group in store.groups().items()
                if group.launch_template_name == template.launch_template_name
            )
            if users:
                raise LaunchTemplateError(
                    "DependencyViolation",
                    f"Launch template {template.launch_template_name} is used by Auto Scaling "
                    f"group(s) {', '.join(users)}; delete them or point them at another "
                    "template first.",
                )
            store.delete_launch_template(template.launch_template_name)
        return {"LaunchTemplate": template_summary(template)}

    return {
        "CreateLaunchTemplate": create_template,
        "CreateLaunchTemplateVersion": create_version,
        "ModifyLaunchTemplate": modify_template,
        "DescribeLaunchTemplates": describe_templates,
        "DescribeLaunchTemplateVersions": describe_versions,
        "DeleteLaunchTemplate": delete_template,
        **spot_actions(context),
    }
