"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright with its
``executable_path``: no browser download), served by ``barista serve orchestrator`` over a
small group of real containers.

The page asks for the access key pair and logs in through its form; another site's page (on
another port, so same-site but not same-origin) posting a form at a control changes nothing,
though the browser sends the session cookie with it. Then the page's charts update on their
own, and the controls work: setting the desired capacity from 1 to 2 on the page brings a
second instance into service in the page's table, a refused value shows AWS's reason, a killed
instance shows as terminating, the broker restart restarts the container Compose's labels
name, and the ECS panel's deploy button rolls a service out to a new revision. Logging out
brings the login form back.
``BARISTA_DASHBOARD_SCREENSHOT=path`` saves what the browser saw at the end (the README's
screenshot is made this way)."""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

from orchestrator.client import Client
from orchestrator.instances import LABEL_INSTANCE_ID
from orchestrator.runtime.tasks import LABEL_CLUSTER
from tests.support.aws_auth import KEY_ID, SECRET
from tests.support.containers import (
    LOOPBACK,
    SESSION_ID,
    SESSION_LABEL,
    free_loopback_port,
    stable_image,
)
from tests.support.orchestrator import OrchestratorProcess, group_containers

pytestmark = pytest.mark.docker

GROUP = "dashboard-web"
CLUSTER = f"dashboard-{SESSION_ID}"
SERVICE = "web"
BROKER_PROJECT = f"dashboard-{SESSION_ID}"
TIMEOUT_MS = 90_000


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
        ecs_service(api)
        yield api
    finally:
        running.stop()
        for container in group_containers(GROUP):
            container.remove(force=True)
        for container in docker.from_env().containers.list(
            all=True, filters={"label": [f"{LABEL_CLUSTER}={CLUSTER}"]}
        ):
            container.remove(force=True)


def ecs_service(api: Client) -> None:
    """An ECS service of one Fargate task (``serve health``, no health check: healthy 40 AWS
    seconds after RUNNING) with the circuit breaker, for the page's deploy button."""
    api.call("ecs", "CreateCluster", {"clusterName": CLUSTER})
    api.call(
        "ecs",
        "RegisterTaskDefinition",
        {
            "family": SERVICE,
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": stable_image("service"),
                    "command": ["serve", "health"],
                    "stopTimeout": 2,
                }
            ],
        },
    )
    api.call(
        "ecs",
        "CreateService",
        {
            "cluster": CLUSTER,
            "serviceName": SERVICE,
            "taskDefinition": SERVICE,
            "desiredCount": 1,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"]}},
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": True}
            },
        },
    )


def forged_form(action: str, body: str) -> bytes:
    """A page that posts ``body`` to ``action`` as an ``enctype=text/plain`` form the moment it
    loads: the one cross-site POST a browser makes without asking the target (no preflight)."""
    # text/plain sends "name=value": splitting the JSON at a string that may hold "=" makes the
    # body valid JSON (its last "group" wins), so only the dashboard's checks stop it.
    name, _, value = body.partition("=")
    return (
        f'<!doctype html><form method="post" enctype="text/plain" action="{html.escape(action)}">'
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}"></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()


@pytest.fixture
def cross_site_page(orchestrator: Client) -> Iterator[str]:
    """Another site's page, served from another loopback port, aimed at a dashboard control."""
    page = forged_form(
        f"{orchestrator.endpoint}/dashboard/controls/desired-capacity",
        f'{{"group":"x=","group":"{GROUP}","desired_capacity":3}}',
    )

    class Forged(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Forged)
    thread = threading.Thread(target=server.serve_forever, name="cross-site", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def desired_capacity(api: Client) -> int:
    (group,) = api.call(
        "autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": [GROUP]}
    )["AutoScalingGroups"]
    return int(group["DesiredCapacity"])


def log_in(page: Page) -> None:
    """Not logged in, the page asks for the access key pair the aws CLI uses; a wrong secret
    is refused in the header, the right one logs in."""
    from playwright.sync_api import expect  # noqa: PLC0415 - dev extra only

    login = page.locator("#login")
    expect(login).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#status")).to_contain_text("not logged in")
    login.locator('input[name="access_key_id"]').fill(KEY_ID)
    login.locator('input[name="secret_access_key"]').fill("not-the-secret")
    login.get_by_role("button", name="log in").click()
    expect(page.locator("#status")).to_contain_text("wrong access key id or secret")
    login.locator('input[name="secret_access_key"]').fill(SECRET)
    login.get_by_role("button", name="log in").click()
    expect(page.locator("#who")).to_have_text(f"logged in as {KEY_ID}")
    expect(login).to_be_hidden()


def log_out(page: Page) -> None:
    """Logging out brings the login form back in place of the dashboard."""
    from playwright.sync_api import expect  # noqa: PLC0415 - dev extra only

    page.get_by_role("button", name="log out").click()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#groups")).to_be_hidden()


def submit_forged_form(context: BrowserContext, forged_page: str, endpoint: str) -> None:
    """Open ``forged_page`` in a tab of ``context``: the dashboard refuses its form for its
    origin (Chromium sends ``Origin`` with a form POST, and the session cookie too)."""
    tab = context.new_page()
    try:
        with tab.expect_navigation(url=f"{endpoint}/dashboard/**", timeout=TIMEOUT_MS):
            tab.goto(forged_page)
        answer = tab.locator("body").inner_text()
    finally:
        tab.close()
    assert "refused: a request from http://" in answer, answer


def restart_the_broker(page: Page, broker: docker.models.containers.Container) -> None:
    """The broker restart finds its container by Compose's labels, after a confirm."""
    from playwright.sync_api import expect  # noqa: PLC0415 - dev extra only

    broker.reload()
    started = broker.attrs["State"]["StartedAt"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#restart-broker").click()
    expect(page.locator("#status")).to_contain_text("broker broker", timeout=TIMEOUT_MS)
    broker.reload()
    assert broker.attrs["State"]["StartedAt"] != started


def deploy_from_the_ecs_panel(page: Page) -> None:
    """The ECS panel's deploy button: a new revision, rolled out and shown COMPLETED."""
    from playwright.sync_api import expect  # noqa: PLC0415 - dev extra only

    service = page.locator(f'#ecs-services .ecs-service[data-service="{SERVICE}"]')
    expect(service.locator(".running .value")).to_have_text("1", timeout=TIMEOUT_MS)
    service.get_by_role("button", name="deploy a new revision").click()
    expect(page.locator("#status")).to_contain_text(f"deploying {SERVICE}:2")
    deployments = service.locator("tbody tr[data-deployment]")
    expect(deployments.first).to_contain_text(f"{SERVICE}:2")
    expect(deployments).to_have_count(1, timeout=TIMEOUT_MS)
    expect(deployments.first.locator(".rollout")).to_contain_text("COMPLETED", timeout=TIMEOUT_MS)
    expect(service.locator(".events")).to_contain_text("has reached a steady state")


def test_the_page_updates_live_and_its_controls_act_on_the_group_and_the_broker(
    orchestrator: Client,
    chromium: str,
    broker_stand_in: docker.models.containers.Container,
    cross_site_page: str,
):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - dev extra only

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1500})
            page = context.new_page()
            page.goto(orchestrator.endpoint + "/")

            log_in(page)
            group = page.locator(f'section.group[data-group="{GROUP}"]')
            expect(group).to_be_visible(timeout=TIMEOUT_MS)
            expect(group.locator(".desired")).to_have_text("1")

            # Another site's page in the same browser (so with the session cookie: another port
            # of the same host is the same site) posts a form at a control: refused, no change.
            submit_forged_form(context, cross_site_page, orchestrator.endpoint)
            assert desired_capacity(orchestrator) == 1

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

            restart_the_broker(page, broker_stand_in)

            deploy_from_the_ecs_panel(page)

            screenshot = os.environ.get("BARISTA_DASHBOARD_SCREENSHOT")
            if screenshot:
                page.screenshot(path=screenshot, full_page=True)

            log_out(page)
        finally:
            browser.close()
    killed = [c for c in group_containers(GROUP) if c.labels[LABEL_INSTANCE_ID] == victim]
    assert [c.status for c in killed] in (["exited"], []), "killed, then perhaps replaced"
