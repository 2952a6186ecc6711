"""Who may use the dashboard: a login with the access key pair (or the one-click link) sets a
signed session cookie, and a change needs that cookie, the page's own origin and a JSON body."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from orchestrator.api import ApiContext
from orchestrator.api.credentials import Credentials
from orchestrator.asg.store import Store
from orchestrator.dashboard import dashboard_login_url, dashboard_routes, session
from orchestrator.dashboard.snapshot import Dashboard, Sources
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import CREDENTIALS, KEY_ID, SECRET
from tests.unit.orchestrator.dashboard.conftest import Settings, Wall, no_load_balancer

ORIGIN = "http://testserver"
CAPACITY = "/dashboard/controls/desired-capacity"


def log_in(client: TestClient, secret: str = SECRET, **headers: str) -> httpx2.Response:
    return client.post(
        "/dashboard/session",
        json={"access_key_id": KEY_ID, "secret_access_key": secret},
        headers={"Origin": ORIGIN, **headers},
    )


def desired_capacity(store_path: Path, group: str) -> int:
    with Store(store_path) as store:
        return store.groups()[group].desired_capacity


def test_logging_in_with_the_key_pair_sets_a_strict_http_only_session_cookie(
    client: TestClient,
):
    assert client.get("/dashboard/state").status_code == 401
    answer = client.post(
        "/dashboard/session",
        json={"access_key_id": KEY_ID, "secret_access_key": SECRET},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_key_id"] == KEY_ID
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}=")
    for attribute in (
        "HttpOnly",
        "Path=/",
        "SameSite=strict",
        f"Max-Age={session.SESSION_SECONDS}",
    ):
        assert attribute.lower() in cookie.lower(), cookie
    assert SECRET not in cookie
    assert client.get("/dashboard/state").status_code == 200
    assert client.get("/dashboard/session").json()["access_key_id"] == KEY_ID


@pytest.mark.parametrize(("key_id", "secret"), [(KEY_ID, "not-the-secret"), ("AKIANOBODY", SECRET)])
def test_a_wrong_secret_or_unknown_key_is_refused_alike(
    client: TestClient, key_id: str, secret: str
):
    answer = client.post(
        "/dashboard/session",
        json={"access_key_id": key_id, "secret_access_key": secret},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 401
    assert answer.json() == {"error": "wrong access key id or secret access key"}
    assert "set-cookie" not in answer.headers
    assert client.get("/dashboard/state").status_code == 401


def test_the_login_itself_only_takes_the_pages_own_json(client: TestClient):
    assert log_in(client, Origin="http://evil.example").status_code == 403
    form = client.post(
        "/dashboard/session",
        content=f'{{"access_key_id": "{KEY_ID}", "secret_access_key": "{SECRET}"}}',
        headers={"Origin": ORIGIN, "Content-Type": "text/plain"},
    )
    assert form.status_code == 415
    assert client.get("/dashboard/state").status_code == 401


def test_a_control_without_a_session_is_refused(client: TestClient, group: str, store_path: Path):
    answer = client.post(
        CAPACITY, json={"group": group, "desired_capacity": 3}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 401
    assert answer.json()["error"].startswith("not logged in")
    assert desired_capacity(store_path, group) == 2


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": "http://evil.example"}, "a request from http://evil.example"),
        ({"Origin": "http://testserver:8080"}, "not from this dashboard (http://testserver)"),
        ({"Origin": "null"}, "a request from null"),
        ({}, "no Origin header"),
        ({"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}, "a cross-site request"),
        ({"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"}, "a same-site request"),
    ],
)
def test_a_control_from_another_origin_is_refused_even_with_a_session(
    client: TestClient, group: str, store_path: Path, headers: dict[str, str], reason: str
):
    assert log_in(client).status_code == 200
    answer = client.post(CAPACITY, json={"group": group, "desired_capacity": 3}, headers=headers)
    assert answer.status_code == 403
    assert reason in answer.json()["error"]
    assert desired_capacity(store_path, group) == 2


def test_a_form_body_is_refused_even_from_the_page(
    client: TestClient, group: str, store_path: Path
):
    """What a cross-site ``<form enctype=text/plain>`` sends: valid JSON, the wrong type."""
    assert log_in(client).status_code == 200
    answer = client.post(
        CAPACITY,
        content=f'{{"group": "x=", "group": "{group}", "desired_capacity": 3}}\r\n',
        headers={"Origin": ORIGIN, "Content-Type": "text/plain"},
    )
    assert answer.status_code == 415
    assert "application/json" in answer.json()["error"]
    assert desired_capacity(store_path, group) == 2
    same = client.post(
        CAPACITY,
        json={"group": group, "desired_capacity": 3},
        headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 200, same.text
    assert desired_capacity(store_path, group) == 3


def test_the_one_click_link_sets_the_cookie_and_goes_to_the_page(client: TestClient, wall: Wall):
    url = dashboard_login_url(ORIGIN, CREDENTIALS, now=wall())
    assert url.startswith(f"{ORIGIN}/dashboard/login?token=")
    assert SECRET not in url
    landed = client.get(url, follow_redirects=False)
    assert landed.status_code == 303
    assert landed.headers["location"] == "/"
    assert "httponly" in landed.headers["set-cookie"].lower()
    assert client.get("/dashboard/state").status_code == 200


def test_a_link_expires_and_is_not_itself_a_session(client: TestClient, wall: Wall):
    url = dashboard_login_url(ORIGIN, CREDENTIALS, now=wall(), valid_for=60)
    token = url.partition("token=")[2]
    client.cookies.set(session.COOKIE, token)
    assert client.get("/dashboard/state").status_code == 401, "a link token is not a session"
    client.cookies.clear()
    wall.now += 61
    expired = client.get(url, follow_redirects=False)
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]
    forged = client.get(url.replace(token, token[:-1] + "0"), follow_redirects=False)
    assert forged.status_code == 401
    assert client.get("/dashboard/state").status_code == 401


def test_the_link_needs_a_key_to_sign_with():
    with pytest.raises(ValueError, match="BARISTA_ACCESS_KEY_ID"):
        dashboard_login_url(ORIGIN, Credentials())
    with pytest.raises(ValueError, match="AKIANOBODY"):
        dashboard_login_url(ORIGIN, CREDENTIALS, access_key_id="AKIANOBODY")


def test_a_session_expires(client: TestClient, wall: Wall):
    assert log_in(client).status_code == 200
    wall.now += session.SESSION_SECONDS - 1
    assert client.get("/dashboard/state").status_code == 200
    wall.now += 1
    answer = client.get("/dashboard/state")
    assert answer.status_code == 401
    assert "expired" in answer.json()["error"]


@contextmanager
def restarted(
    store_path: Path, runtime: FakeRuntime, wall: Wall, credentials: Credentials
) -> Iterator[TestClient]:
    """A new dashboard on the same store: the orchestrator after a restart."""
    built = Dashboard(
        ApiContext(store_path, runtime, credentials=credentials),
        Settings(),
        sources=Sources(),
        wall=wall,
        elb=no_load_balancer,
    )
    try:
        with TestClient(Starlette(routes=dashboard_routes(built))) as opened:
            yield opened
    finally:
        built.close()


def test_a_session_survives_a_restart_with_the_same_key_but_not_a_new_secret(
    client: TestClient, store_path: Path, runtime: FakeRuntime, wall: Wall
):
    assert log_in(client).status_code == 200
    token = client.cookies[session.COOKIE]
    with restarted(store_path, runtime, wall, CREDENTIALS) as same:
        same.cookies.set(session.COOKIE, token)
        assert same.get("/dashboard/state").status_code == 200
    rotated = Credentials({KEY_ID: "a-new-secret"})
    with restarted(store_path, runtime, wall, rotated) as other:
        other.cookies.set(session.COOKIE, token)
        answer = other.get("/dashboard/state")
    assert answer.status_code == 401
    assert "not valid" in answer.json()["error"]


def test_logging_out_needs_the_page_and_ends_the_session(client: TestClient):
    assert log_in(client).status_code == 200
    assert client.request("DELETE", "/dashboard/session", json={}).status_code == 403
    out = client.request("DELETE", "/dashboard/session", json={}, headers={"Origin": ORIGIN})
    assert out.status_code == 200, out.text
    assert session.COOKIE not in client.cookies
    assert client.get("/dashboard/state").status_code == 401
    again = client.request("DELETE", "/dashboard/session", json={}, headers={"Origin": ORIGIN})
    assert again.status_code == 401
