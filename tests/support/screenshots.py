"""The README's pictures, taken from a live demo (``make up``) in headless Chromium.

``make screenshots`` runs this against the demo the machine is running: it logs into the
dashboard with the key pair ``make up`` wrote to ``.env``, asks the load generator for a spike,
waits until Spot baristas above the group's On-Demand base are in service (so the market
column, the cost panel and the backlog chart have something to show), then saves the whole
dashboard and the pickup board. It changes nothing but the traffic pattern, which it sets
back to steady.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path

from dotenv import dotenv_values
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
SPIKE = {"pattern": "spike", "rate": 0.5, "peak_rate": 8, "spike_at": 0, "spike_duration": 120}
STEADY = {"pattern": "steady", "rate": 0.5}


def _post(url: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--spot", type=int, default=2, help="Spot baristas in service")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    env = {k: v or "" for k, v in dotenv_values(REPO / ".env").items()}
    dashboard = f"http://127.0.0.1:{env.get('ORCHESTRATOR_PORT', '8500')}/"
    loadgen = f"http://127.0.0.1:{env.get('LOADGEN_PORT', '8501')}/pattern"
    board = f"http://127.0.0.1:{env.get('PICKUP_BOARD_PORT', '8502')}/"
    _post(loadgen, SPIKE)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(dashboard)
            login = page.locator("#login")
            login.locator('input[name="access_key_id"]').fill(env["BARISTA_ACCESS_KEY_ID"])
            login.locator('input[name="secret_access_key"]').fill(env["BARISTA_SECRET_ACCESS_KEY"])
            login.get_by_role("button", name="log in").click()
            login.wait_for(state="hidden")
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                state = page.evaluate("async () => (await fetch('/dashboard/state')).json()")
                groups = {g["name"]: g for g in state.get("groups", [])}
                serving_spot = [
                    row
                    for row in groups.get("baristas", {}).get("instances", [])
                    if row["lifecycle"] == "spot" and row["state"] == "in service"
                ]
                if len(serving_spot) >= args.spot:
                    break
                page.wait_for_timeout(2000)
            page.wait_for_timeout(5000)  # a few more datapoints on the charts
            page.screenshot(path=args.out / "orchestrator/dashboard/screenshot.png", full_page=True)
            pickup = browser.new_page(viewport={"width": 900, "height": 700})
            pickup.goto(board)
            pickup.wait_for_timeout(3000)
            pickup.screenshot(path=args.out / "docs/pickup-board.png")
            browser.close()
    finally:
        _post(loadgen, STEADY)


if __name__ == "__main__":
    main()
