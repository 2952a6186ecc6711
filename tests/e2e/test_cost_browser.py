"""The cost panel in real headless Chromium, with no Docker: the orchestrator's app (API and
dashboard) in this process over a fake runtime and a store with a stated few hours of runs and
a Savings Plan. Logged in, the page draws one bar per hour in the three colours and the
"had it all been On-Demand" markers, and its totals are the ones ``/dashboard/cost`` answers,
which the unit test holds equal to Cost Explorer's. ``BARISTA_SCREENSHOT_DIR`` set, it keeps
a screenshot of the panel there."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from orchestrator.api import ApiContext
from orchestrator.dashboard import dashboard_routes
from orchestrator.dashboard.cost import cost_panel
from orchestrator.dashboard.snapshot import Dashboard
from orchestrator.runtime.fake import FakeRuntime
from tests.e2e.test_dashboard import TIMEOUT_MS, log_in
from tests.support.aws_endpoint import CREDENTIALS, serve
from tests.unit.orchestrator.api.conftest import START
from tests.unit.orchestrator.dashboard.conftest import Settings
from tests.unit.orchestrator.dashboard.test_cost_panel import _store


def test_the_cost_panel_draws_the_hours(chromium: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - see chromium()

    runtime = FakeRuntime(start=START)
    context = ApiContext(tmp_path / "barista.db", runtime, {}, CREDENTIALS)
    dashboard = Dashboard(context, Settings())
    _store(dashboard, runtime)
    totals = cost_panel(context)["totals"]
    try:
        with serve(context, dashboard_routes(dashboard)) as endpoint, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(endpoint.url + "/")
                log_in(page)
                panel = page.locator("#cost-panel")
                expect(panel.locator("svg rect").first).to_be_visible(timeout=TIMEOUT_MS)
                series = panel.locator("svg [data-series]").evaluate_all(
                    "nodes => nodes.map(n => n.dataset.series)"
                )
                spent = panel.locator('[data-total="spent"] .value').inner_text()
                every_od = panel.locator('[data-total="all On-Demand"] .value').inner_text()
                if os.environ.get("BARISTA_SCREENSHOT_DIR"):
                    panel.scroll_into_view_if_needed()
                    panel.screenshot(path=Path(os.environ["BARISTA_SCREENSHOT_DIR"]) / "cost.png")
            finally:
                browser.close()
    finally:
        dashboard.close()
    assert {"on_demand", "spot", "savings_plans", "all_on_demand"} <= set(series)
    assert spent == f"${Decimal(totals['total']):.4f}"
    assert every_od == f"${Decimal(totals['all_on_demand']):.4f}"
