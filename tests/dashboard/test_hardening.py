"""Hardening found by a hostile sweep: HSTS, CSP, session lifetimes, SECRET_KEY strength, hostile input, the NAT throttle."""

from __future__ import annotations

import base64
import hashlib
import re
import time

import pytest
from sqlalchemy import text
from webtools import PASSWORD, callback_bodies, csrf_from, dash_body, login, make_client, make_user

from core.settings import Settings, SettingsError
from dashboard.app import create_app
from dashboard.callback_input import NOT_A_CALLBACK, NUL, TOO_LARGE
from dashboard.security import NUL_BYTE, SESSION_ABSOLUTE_LIFETIME, SESSION_LIFETIME
from services.users import ACCOUNT_FAILURE_LIMIT, ADDRESS_FAILURE_LIMIT

# --------------------------------------------------------------------------- headers


def test_hsts_only_when_cookies_are_secure(test_settings, database, anon_client):
    assert "Strict-Transport-Security" not in anon_client.get("/login").headers
    secure = make_client(create_app(test_settings.with_(secure_cookies=True)))
    assert secure.get("/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def _script_src(policy: str) -> list[str]:
    directive = next(d.strip() for d in policy.split(";") if d.strip().startswith("script-src "))
    return directive.split()[1:]


def test_csp_allows_exactly_the_inline_scripts_of_the_page(admin_client):
    page = admin_client.get("/")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    sources = _script_src(policy)
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources and "*" not in sources
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    html = page.get_data(as_text=True)
    inline = [m.group(2) for m in re.finditer(r"<script([^>]*)>(.*?)</script>", html, re.S)
              if "src=" not in m.group(1) and "application/json" not in m.group(1)]
    assert len(inline) >= 2  # the renderer's start-up and the clientside callbacks
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in sources
    assert admin_client.get("/api/v1/me").headers["Content-Security-Policy"] == policy


# --------------------------------------------------------------------------- sessions


def test_session_ends_after_the_absolute_lifetime_even_when_active(app, database):
    assert SESSION_LIFETIME.total_seconds() == 8 * 3600 and SESSION_ABSOLUTE_LIFETIME.total_seconds() == 12 * 3600
    user = make_user(database, "abs-life@test.example", "staff")
    client = make_client(app)
    assert login(client, user.email, PASSWORD).status_code == 302
    with client.session_transaction() as flask_session:
        flask_session["_login_at"] = int(time.time()) - int(SESSION_ABSOLUTE_LIFETIME.total_seconds()) + 3600
    assert client.get("/api/v1/me").status_code == 200  # 11 hours in: still fine
    with client.session_transaction() as flask_session:
        flask_session["_login_at"] = int(time.time()) - int(SESSION_ABSOLUTE_LIFETIME.total_seconds()) - 60
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401
    with client.session_transaction() as flask_session:
        assert "_user_id" not in flask_session  # the session is cleared, not just refused once
    assert client.get("/").status_code == 302


def test_session_without_a_login_time_is_refused(app, database):
    user = make_user(database, "abs-none@test.example", "staff")
    client = make_client(app)
    login(client, user.email, PASSWORD)
    with client.session_transaction() as flask_session:
        del flask_session["_login_at"]
    assert client.get("/api/v1/me").status_code == 401


# --------------------------------------------------------------------------- SECRET_KEY


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("short-key", "too weak"),
        ("a" * 40, "too weak"),
        ("abababababababababababababababababab", "too weak"),
        ("changeme", "placeholder"),
        ("Secret", "placeholder"),
    ],
)
def test_weak_secret_key_stops_start_up_with_one_sentence(test_settings, key, message):
    with pytest.raises(SettingsError, match=message) as caught:
        create_app(test_settings.with_(secret_key=key, demo_mode=False))
    assert str(caught.value).startswith("SECRET_KEY") and "\n" not in str(caught.value)


def test_strong_and_demo_secret_keys_are_accepted(test_settings):
    assert Settings(secret_key="test-secret-key-not-for-production").require_secret_key()
    assert Settings(secret_key="short", demo_mode=True, home=test_settings.home).require_secret_key() == "short"


def test_slow_query_threshold_setting():
    assert Settings.from_env({}).slow_query_ms == 500
    assert Settings.from_env({"SLOW_QUERY_MS": "250", "METRICS_ENABLED": "true"}).slow_query_ms == 250
    with pytest.raises(SettingsError, match="SLOW_QUERY_MS"):
        Settings.from_env({"SLOW_QUERY_MS": "soon"})


def test_proxy_hops_setting():
    """Trusted proxies are a setting like the others (dashboard.wsgi reads it there, not from the environment)."""
    assert Settings.from_env({}).proxy_hops == 0
    assert Settings.from_env({"STUDENTPERF_PROXY_HOPS": "1"}).proxy_hops == 1
    for bad in ("-1", "many", "9"):
        with pytest.raises(SettingsError, match="STUDENTPERF_PROXY_HOPS"):
            Settings.from_env({"STUDENTPERF_PROXY_HOPS": bad})


# --------------------------------------------------------------------------- hostile input


HOSTILE = [10**30, -(10**30), 2**53 + 1, float("inf"), "x\x00y", {"a": 1}, [1, [2]], True, 1.5, "A" * 100_000, "no-slash"]


def test_no_callback_answers_hostile_values_with_a_500(admin_client, dash_app):
    failures = []
    for key, body in callback_bodies(dash_app):
        for position in range(len(body["inputs"])):
            for value in HOSTILE:
                hostile = {**body, "inputs": [dict(item) for item in body["inputs"]]}
                hostile["inputs"][position]["value"] = value
                response = admin_client.post("/_dash-update-component", json=hostile)
                if response.status_code >= 500 or "Traceback" in response.get_data(as_text=True):
                    failures.append((key, body["inputs"][position]["id"], repr(value)[:20], response.status_code))
    assert not failures


def test_callback_refusals_are_400_with_a_sentence(admin_client):
    def post(body):
        response = admin_client.post("/_dash-update-component", json=body)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        return response.get_json()["error"]

    kpis = "overview-kpis.children"
    assert post(dash_body(kpis, [("filter-query", "data", "class_id=1\x00")])) == NUL
    assert post(dash_body(kpis, [("filter-query", "data", 10**30)])) == TOO_LARGE
    assert post(dash_body(kpis, [("filter-query", "data", {"class_id": 1})])) == "filter-query.data must be text."
    assert post(dash_body(kpis, [("filter-query", "data", 12)])) == "filter-query.data must be text."
    assert post(dash_body("student-body.children", [("student-id", "data", ["1"])])) == "student-id.data must be text."
    assert post(dash_body("shell-db-banner.is_open", [("shell-health-interval", "n_intervals", 1)])) == NOT_A_CALLBACK
    assert post(dash_body("no-such.children", [("x", "value", 1)])) == NOT_A_CALLBACK
    assert post({"output": kpis, "outputs": {"id": "overview-kpis", "property": "children"}, "inputs": "x"})
    assert post([1, 2]) == "The callback request must be a JSON object."
    assert post(dash_body(kpis, [("filter-query", "data", "")], triggered=[None])) == "The callback request is malformed."
    ok = admin_client.post("/_dash-update-component", json=dash_body(kpis, [("filter-query", "data", "")]))
    assert ok.status_code in (200, 204)


@pytest.mark.parametrize("path", ["/?class_id=1%00", "/api/v1/students?class_id=%00", "/api/v1/students/1%00",
                                  "/at-risk?tier=High%00"])
def test_nul_bytes_in_the_address_are_400(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 400 and NUL_BYTE in response.get_data(as_text=True)


def test_nul_byte_in_the_login_form_is_400(anon_client):
    token = csrf_from(anon_client.get("/login"))
    response = anon_client.post("/login", data={"email": "a\x00@b.example", "password": "x" * 12, "csrf_token": token})
    assert response.status_code == 400 and "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [f"/api/v1/students/{10**30}", f"/api/v1/students?page={10**30}",
                                  f"/api/v1/students?page=-{10**30}", f"/api/v1/students?per_page={10**30}"])
def test_oversized_numbers_in_the_api_are_4xx_with_a_sentence(admin_client, path):
    response = admin_client.get(path)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"].endswith(".")


# --------------------------------------------------------------------------- the login throttle behind a shared NAT


def _failures_from(database, address: str, n: int) -> None:
    with database.begin() as s:
        s.execute(
            text("INSERT INTO login_attempts (email, address, success) SELECT 'sprayed' || g || '@nat.example', :a, false "
                 "FROM generate_series(1, :n) AS g"),
            {"a": address, "n": n},
        )


def test_one_address_spraying_does_not_lock_out_the_school_behind_it(app, database):
    assert ADDRESS_FAILURE_LIMIT >= 20 * ACCOUNT_FAILURE_LIMIT  # much higher than the strict per-account limit
    nat = "10.203.0.1"
    teacher = make_user(database, "nat-teacher@test.example", "teacher")
    assert login(make_client(app, nat), teacher.email, PASSWORD).status_code == 302  # known at this address
    _failures_from(database, nat, ADDRESS_FAILURE_LIMIT - 1)
    newcomer = make_user(database, "nat-newcomer@test.example", "staff")
    assert login(make_client(app, nat), newcomer.email, PASSWORD).status_code == 302  # below the limit: fine
    _failures_from(database, nat, 1)
    assert login(make_client(app, nat), teacher.email, PASSWORD).status_code == 302  # known here: not locked out
    stranger = make_user(database, "nat-stranger@test.example", "staff")
    assert login(make_client(app, nat), stranger.email, PASSWORD).status_code == 429  # new here: the address limit holds
    assert login(make_client(app, "10.203.0.2"), stranger.email, PASSWORD).status_code == 302


def test_the_per_account_limit_still_holds_at_a_known_address(app, database):
    nat = "10.204.0.1"
    user = make_user(database, "nat-guessed@test.example", "staff")
    assert login(make_client(app, nat), user.email, PASSWORD).status_code == 302
    for _ in range(ACCOUNT_FAILURE_LIMIT):
        assert login(make_client(app, nat), user.email, "wrong-password").status_code == 401
    assert login(make_client(app, nat), user.email, PASSWORD).status_code == 429
