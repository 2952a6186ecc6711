"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright with its
``executable_path``: no browser download), served by ``barista serve orchestrator`` over a
small group of real containers.

The page loads, its charts update on their own, and the controls work: setting the desired
capacity from 1 to 2 on the page brings a second instance into service in the page's table, a
refused value shows AWS's reason, a killed instance shows as terminating, and the broker
restart restarts the container Compose's labels name.
``BARISTA_DASHBOARD_SCREENSHOT=path`` saves what the browser saw at the end (the README's
screenshot is made this way)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from orchestrator.asg.instance import LABEL_INSTANCE_ID
from orchestrator.cli._client import Client
from tests.support.containers import (
    SESSION_ID,
    SESSION_LABEL,
    free_loopback_port,
    stable_image,
)
from tests.support.engine import in_ci
from tests.support.orchestrator import OrchestratorProcess, group_containers
from tests.support.tools import require_tool

pytestmark = pytest.mark.docker

GROUP = "dashboard-web"
BROKER_PROJECT = f"dashboard-{SESSION_ID}"
TIMEOUT_MS = 90_000


@pytest.fixture
def chromium() -> str:
    """Debian's chromium; with CI=true a missing browser or Playwright fails, never skips."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only this test needs it
    except ImportError:
        message = "Playwright for Python is missing: .venv/bin/pip install -e '.[dev]'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return require_tool("chromium")


@pytest.fixture
def broker_stand_in() -> Iterator[docker.models.containers.Container]:
    """A container labelled as Compose labels a broker service, for the restart button (the
    button restarts whatever container carries the labels; a real broker is not needed)."""
    container = docker.from_env().containers.run(
        stable_image("service"),
        ["serve", "health"],
        detach=True,
        labels={
            SESSION_LABEL: SESSION_ID,
            "com.docker.compose.project": BROKER_PROJECT,
            "com.docker.compose.service": "broker",
        },
    )
    yield container
    container.remove(force=True)


@pytest.fixture
def orchestrator(
    tmp_path: Path, broker_stand_in: docker.models.containers.Container
) -> Iterator[Client]:
    """``barista serve orchestrator`` at time scale 60, managing this session's containers,
    with a group of one ``serve health`` instance and a CPU target tracking policy (scale-in
    disabled, so it never undoes the test's capacity change) whose datapoints the page charts."""
    running = OrchestratorProcess(
        tmp_path / "barista.db",
        free_loopback_port(),
        time_scale="60",
        reconcile_interval="0.5",
        broker_service="broker",
        compose_project=BROKER_PROJECT,
    )
    api = running.client
    try:
        running.start()
        running.create_health_group(GROUP, MinSize=0, MaxSize=3, DesiredCapacity=1)
        api.call(
            "autoscaling",
            "PutScalingPolicy",
            {
                "AutoScalingGroupName": GROUP,
                "PolicyName": "cpu50",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ASGAverageCPUUtilization"
                    },
                    "TargetValue": 50.0,
                    "DisableScaleIn": True,
                },
            },
        )
        yield api
    finally:
        running.stop()
        for container in group_containers(GROUP):
            container.remove(force=True)


def test_the_page_updates_live_and_its_controls_act_on_the_group_and_the_broker(
    orchestrator: Client, chromium: str, broker_stand_in: docker.models.containers.Container
):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - dev extra only

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(orchestrator.endpoint + "/")
            group = page.locator(f'section.group[data-group="{GROUP}"]')
            expect(group).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.locator("#clock")).to_contain_text("1 wall second = 60 AWS seconds")
            rows = group.locator("tbody tr[data-instance]")
            expect(rows.filter(has_text="in service")).to_have_count(1, timeout=TIMEOUT_MS)

            # The CPU policy's chart gains datapoints (one per AWS minute: a wall second here)
            # without a reload.
            chart = group.locator('[data-policy="cpu50"] svg.chart')
            expect(chart).to_be_visible(timeout=TIMEOUT_MS)
            first = int(chart.get_attribute("data-points") or 0)
            page.wait_for_function(
                """([selector, first]) => {
                    const svg = document.querySelector(selector);
                    return svg && Number(svg.dataset.points) >= first + 2;
                }""",
                arg=[f'section.group[data-group="{GROUP}"] [data-policy="cpu50"] svg.chart', first],
                timeout=TIMEOUT_MS,
            )

            group.locator('input[name="desired"]').fill("2")
            group.get_by_role("button", name="set").click()
            expect(page.locator("#status")).to_contain_text(f"desired capacity of {GROUP} set to 2")
            expect(group.locator(".desired")).to_have_text("2", timeout=TIMEOUT_MS)
            expect(rows.filter(has_text="in service")).to_have_count(2, timeout=TIMEOUT_MS)
            expect(page.locator("#activities li")).to_have_count(2, timeout=TIMEOUT_MS)

            # A refused control says why, in the page.
            group.locator('input[name="desired"]').fill("9")
            group.get_by_role("button", name="set").click()
            expect(page.locator("#status")).to_contain_text("above", timeout=TIMEOUT_MS)

            # Sources that are not configured say so rather than show a number.
            expect(page.locator("#ledger")).to_contain_text("BARISTA_LEDGER_URL is not set")

            # Kill goes through the runtime (SIGKILL): the page shows the instance terminating.
            victim = rows.first.get_attribute("data-instance")
            rows.first.get_by_role("button", name="kill").click()
            expect(page.locator("#status")).to_contain_text(f"{victim} killed")
            expect(
                group.locator(f'tr[data-instance="{victim}"]').filter(has_text="terminating")
            ).to_have_count(1)

            # The broker restart finds its container by Compose's labels, after a confirm.
            broker_stand_in.reload()
            started = broker_stand_in.attrs["State"]["StartedAt"]
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator("#restart-broker").click()
            expect(page.locator("#status")).to_contain_text("broker broker", timeout=TIMEOUT_MS)
            broker_stand_in.reload()
            assert broker_stand_in.attrs["State"]["StartedAt"] != started

            screenshot = os.environ.get("BARISTA_DASHBOARD_SCREENSHOT")
            if screenshot:
                page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()
    killed = [c for c in group_containers(GROUP) if c.labels[LABEL_INSTANCE_ID] == victim]
    assert [c.status for c in killed] in (["exited"], []), "killed, then perhaps replaced"
