"""One run against a real server: `studentperf serve` (Gunicorn, 2 workers) and a plain HTTP client."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from webtools import PASSWORD, live_server, make_user


@pytest.fixture(scope="module")
def live_url(database_url, test_home, database, tmp_path_factory) -> Iterator[str]:
    """Base URL of `studentperf serve` on the test database (stopped after the module)."""
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "live-test-secret-key-not-for-production",
           "STUDENTPERF_HOME": str(test_home), "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING"}
    with live_server(env, tmp_path_factory.mktemp("live") / "stdout.log") as url:
        yield url


def test_live_server_guard_login_and_api(live_url, database):
    user = make_user(database, "live@test.example", "admin")
    anonymous = requests.Session()
    assert anonymous.get(f"{live_url}/healthz").json() == {"status": "ok", "database": "ok"}
    refused = anonymous.post(f"{live_url}/_dash-update-component", json={"output": "_pages_content.children", "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/login"}]})
    assert refused.status_code == 401
    page = anonymous.get(f"{live_url}/effects/sports", allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].endswith("/login?next=/effects/sports")

    browser = requests.Session()
    form = browser.get(f"{live_url}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = browser.post(f"{live_url}/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    for _ in range(4):  # several requests: both workers know the session (shared secret, state in the database)
        assert browser.get(f"{live_url}/api/v1/me").json()["email"] == user.email
    assert browser.get(f"{live_url}/").status_code == 200
