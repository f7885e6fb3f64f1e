"""Login, logout, sessions, throttling, cookies, CSRF and the audit trail, through the real HTTP edge."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from webtools import PASSWORD, csrf_from, ensure_classes, login, make_client, make_user

from core.settings import SettingsError
from dashboard.app import create_app
from dashboard.security import safe_next
from services import users as users_service
from services.users import ACCOUNT_FAILURE_LIMIT, ADDRESS_FAILURE_LIMIT, BAD_CREDENTIALS, THROTTLED


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@test.example"


def _audit(database, action: str, actor: str) -> list[dict]:
    with database.begin() as s:
        rows = s.execute(
            text("SELECT action, user_id, actor, address, target FROM audit_log WHERE action = :a AND actor = :e ORDER BY id"),
            {"a": action, "e": actor},
        ).mappings()
        return [dict(r) for r in rows]


def test_login_success_redirects_to_next_and_is_audited(app, database):
    user = make_user(database, _email("ok"), "staff")
    client = make_client(app, "10.200.0.1")
    response = login(client, user.email, PASSWORD, next_="/effects/sports?grade=9")
    assert response.status_code == 302
    assert response.headers["Location"] == "/effects/sports?grade=9"
    me = client.get("/api/v1/me").get_json()
    assert me["email"] == user.email and me["role"] == "staff"
    entries = _audit(database, "login.success", user.email)
    assert len(entries) == 1 and entries[0]["user_id"] == user.user_id and entries[0]["address"] == "10.200.0.1"


def _stored_hash(database, user_id: int) -> str:
    with database.begin() as s:
        return s.execute(text("SELECT password_hash FROM users WHERE id = :u"), {"u": user_id}).scalar_one()


def test_old_parameters_verify_and_are_rehashed_on_login_only(app, database):
    """A hash made with argon2-cffi's old defaults (64 MiB, t=3, p=4) still logs in, and is then rehashed with the
    current parameters; a failed login leaves it alone."""
    from argon2 import PasswordHasher

    user = make_user(database, _email("rehash"), "staff")
    old = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4).hash(PASSWORD)
    with database.begin() as s:
        s.execute(text("UPDATE users SET password_hash = :h WHERE id = :u"), {"h": old, "u": user.user_id})
    assert login(make_client(app), user.email, "not-the-password").status_code == 401
    assert _stored_hash(database, user.user_id) == old
    assert login(make_client(app), user.email, PASSWORD).status_code == 302
    new = _stored_hash(database, user.user_id)
    params = users_service.PASSWORD_PARAMETERS
    assert new != old and new.startswith(f"$argon2id$v=19$m={params['memory_cost']},t={params['time_cost']},p={params['parallelism']}$")
    assert users_service.verify_password(new, PASSWORD)
    assert login(make_client(app), user.email, PASSWORD).status_code == 302
    assert _stored_hash(database, user.user_id) == new  # current parameters: not hashed again


def test_wrong_password_refused_with_one_sentence_and_audited(app, database):
    user = make_user(database, _email("bad"), "staff")
    client = make_client(app)
    response = login(client, user.email, "not-the-password")
    assert response.status_code == 401
    assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401
    assert len(_audit(database, "login.failure", user.email)) == 1


def test_unknown_email_gets_the_same_answer(app, database):
    email = _email("ghost")
    response = login(make_client(app), email, "whatever-password")
    assert response.status_code == 401
    assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert len(_audit(database, "login.failure", email)) == 1


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_the_csrf_token_is_refused(app, database, token):
    user = make_user(database, _email("csrf"), "admin")
    client = make_client(app)
    client.get("/login")
    data = {"email": user.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401
    assert _audit(database, "login.success", user.email) == []


def test_csrf_token_of_another_session_is_refused(app, database):
    user = make_user(database, _email("csrf2"), "admin")
    other_token = csrf_from(make_client(app).get("/login"))
    client = make_client(app)
    client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": other_token})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil.example", "javascript:alert(1)", "/login?next=//evil"],
)
def test_no_open_redirect_after_login(app, database, target):
    user = make_user(database, _email("redir"), "staff")
    response = login(make_client(app), user.email, PASSWORD, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_safe_next_keeps_relative_paths_only():
    assert safe_next("/effects/sports?x=1") == "/effects/sports?x=1"
    for bad in ("", None, "evil", "//evil", "/\\evil", "https://evil", "/\x00x", "/\tevil"):
        assert safe_next(bad) == "/"


def test_logout_requires_post_with_csrf_and_ends_every_session(app, database):
    user = make_user(database, _email("out"), "teacher")
    first, second = make_client(app), make_client(app)
    login(first, user.email, PASSWORD)
    login(second, user.email, PASSWORD)
    page = first.get("/logout")  # harmless GET: a confirmation form
    assert page.status_code == 200 and first.get("/api/v1/me").status_code == 200
    assert first.post("/logout", data={}).status_code == 400
    assert first.get("/api/v1/me").status_code == 200
    stolen_cookie = first.get_cookie("studentperf_session").value
    response = first.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 401  # logout ends the user's other sessions too
    replay = make_client(app)
    replay.set_cookie("studentperf_session", stolen_cookie)
    assert replay.get("/api/v1/me").status_code == 401  # an old cookie does not come back to life
    assert len(_audit(database, "logout", user.email)) == 1


def test_deactivated_user_loses_access_on_next_request(app, database):
    user = make_user(database, _email("gone"), "staff")
    client = make_client(app)
    login(client, user.email, PASSWORD)
    assert client.get("/api/v1/me").status_code == 200
    with database.begin() as s:
        users_service.deactivate_user(s, email=user.email, actor="test")
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/effects/sports")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    assert login(make_client(app), user.email, PASSWORD).status_code == 401


def test_role_and_classes_come_from_the_database_each_request(app, database):
    first, second = ensure_classes(database, 2)
    user = make_user(database, _email("moved"), "teacher", [first])
    client = make_client(app)
    login(client, user.email, PASSWORD)
    assert client.get("/api/v1/me").get_json()["class_ids"] == [first]
    with database.begin() as s:
        s.execute(text("UPDATE user_classes SET class_id = :c WHERE user_id = :u"), {"c": second, "u": user.user_id})
    assert client.get("/api/v1/me").get_json()["class_ids"] == [second]


def test_throttle_per_account_across_addresses(app, database):
    user = make_user(database, _email("thr"), "staff")
    for i in range(ACCOUNT_FAILURE_LIMIT):
        assert login(make_client(app, f"10.201.0.{i + 1}"), user.email, "wrong-password").status_code == 401
    blocked = login(make_client(app, "10.201.1.1"), user.email, PASSWORD)  # even the right password
    assert blocked.status_code == 429
    assert THROTTLED in blocked.get_data(as_text=True)
    assert _audit(database, "login.throttled", user.email)
    other = make_user(database, _email("thr-other"), "staff")
    assert login(make_client(app, "10.201.1.1"), other.email, PASSWORD).status_code == 302


def test_success_resets_the_account_counter(app, database):
    user = make_user(database, _email("reset"), "staff")
    for _ in range(ACCOUNT_FAILURE_LIMIT - 1):
        login(make_client(app), user.email, "wrong-password")
    assert login(make_client(app), user.email, PASSWORD).status_code == 302
    assert login(make_client(app), user.email, "wrong-password").status_code == 401  # counting starts again


def test_throttle_per_address_across_accounts(app, database):
    address = "10.202.0.1"
    for i in range(ADDRESS_FAILURE_LIMIT):
        assert login(make_client(app, address), _email(f"spray{i}"), "wrong-password").status_code == 401
    victim = make_user(database, _email("victim"), "staff")
    assert login(make_client(app, address), victim.email, PASSWORD).status_code == 429
    assert login(make_client(app, "10.202.0.2"), victim.email, PASSWORD).status_code == 302


def test_session_cookie_flags(app, database):
    user = make_user(database, _email("cookie"), "staff")
    response = login(make_client(app), user.email, PASSWORD)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("studentperf_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_setting_adds_secure(test_settings, database):
    secure_app = create_app(test_settings.with_(secure_cookies=True))
    user = make_user(database, _email("secure"), "staff")
    response = login(make_client(secure_app), user.email, PASSWORD)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("studentperf_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_secret_key_required_outside_demo_mode(test_settings):
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app(test_settings.with_(secret_key=None, demo_mode=False))


def test_healthz_answers_without_login(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
