"""The dashboard's charts (``orchestrator/dashboard/static/charts.js``) in real headless Chromium,
with no server and no Docker: the script is loaded into a blank page and renders a spec.

A predictive policy's chart ends three hours after now, while its capacity forecast runs 48
hours ahead. On the live demo the hours past the window's edge were drawn piled up on that
edge (a vertical bar up to the next day's rush) and stretched the axis to it; only the points
inside the window may be drawn and scaled to, a step line holding its last value to the edge."""

from __future__ import annotations

import re
from pathlib import Path

CHARTS = Path(__file__).parents[2] / "orchestrator" / "dashboard" / "static" / "charts.js"
HOUR = 3600


def path_xs(d: str) -> list[float]:
    """The x coordinates an SVG path's M, L and H commands move to."""
    return [float(x) for x in re.findall(r"[MLH](-?[\d.]+)", d)]


def test_a_forecast_past_the_window_is_neither_drawn_nor_scaled_to(chromium: str) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - see chromium()

    now = 100 * HOUR
    # Hourly capacity forecast: 2 for the visible hours, then a rush of 15 the next morning.
    forecast = [[now - 2 * HOUR + h * HOUR, 15 if h >= 10 else 2] for h in range(48)]
    spec = {
        "xmin": now - 6 * HOUR,
        "xmax": now + 3 * HOUR,
        "integer": True,
        "series": [
            {"name": "capacity forecast", "points": forecast, "step": True},
            {"name": "instances", "points": [[now - 5 * HOUR, 1], [now - HOUR, 2]], "step": True},
        ],
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page()
            page.set_content("<div id='chart'></div>")
            page.add_script_tag(content=CHARTS.read_text())
            page.evaluate("spec => Charts.render(document.getElementById('chart'), spec)", spec)
            paths = page.eval_on_selector_all(
                "#chart path", "ps => ps.map(p => p.getAttribute('d'))"
            )
            axis = page.eval_on_selector_all("#chart text.axis", "ts => ts.map(t => t.textContent)")
            width = page.eval_on_selector("#chart svg", "svg => svg.viewBox.baseVal.width")
        finally:
            browser.close()

    forecast_path, instances_path = paths
    # The top gridline is the visible forecast's 2, not the next morning's 15.
    assert "2" in axis
    assert "16" not in axis
    assert "15" not in axis
    right_edge = max(path_xs(forecast_path))
    assert right_edge < width
    # One step per visible hour after the first (now-2h .. now+3h), none for the hours past it.
    assert len(re.findall(r"V", forecast_path)) == 5
    # The instances line ends at its last point: it is history, nothing past it is invented.
    assert max(path_xs(instances_path)) < right_edge
