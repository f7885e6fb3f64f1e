"""API tokens: shown once, stored hashed, acting with the user's role and scope on /api/v1/ only, ended at once."""

from __future__ import annotations

import hashlib

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from webtools import make_client, make_user

from core.errors import InvalidInput, NotFound
from dashboard.security import BAD_TOKEN, BEARER_ONLY, CSRF_HEADER, CSRF_MISSING
from services.tokens import create_token, list_tokens, revoke_token
from services.users import deactivate_user


def _token(database, email: str, **kwargs) -> str:
    with database.begin() as s:
        return create_token(s, email=email, actor="test", **kwargs).secret


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def tok_students(database, users):
    """Two students in teacher's class, one in teacher2's (committed; removed afterwards)."""
    ids: dict[str, list[int]] = {"teacher": [], "teacher2": []}
    with database.begin() as s:
        for owner, n in (("teacher", 2), ("teacher2", 1)):
            class_id = users[owner].class_ids[0]
            school = s.execute(text("SELECT school_id FROM classes WHERE id = :c"), {"c": class_id}).scalar_one()
            for i in range(n):
                sid = s.execute(
                    text("INSERT INTO students (school_id, source_id, name) VALUES (:s, :src, :n) RETURNING id"),
                    {"s": school, "src": f"tok-{owner}-{i}", "n": f"Token student {owner} {i}"},
                ).scalar_one()
                s.execute(
                    text("INSERT INTO student_summary (student_id, school_id, class_id, grade_level, n_weeks, score_mean) "
                         "VALUES (:id, :s, :c, 9, 10, 70)"),
                    {"id": sid, "s": school, "c": class_id},
                )
                ids[owner].append(sid)
    yield ids
    with database.begin() as s:
        s.execute(text("DELETE FROM students WHERE source_id LIKE 'tok-%'"))


def test_token_is_shown_once_and_stored_as_a_hash(database):
    user = make_user(database, "tok-hash@test.example", "staff")
    secret = _token(database, user.email, name="nightly export", expires_days=30)
    assert secret.startswith("sp_") and len(secret) == 46
    with database.begin() as s:
        row = s.execute(text("SELECT token_hash, prefix, name, expires_at - created_at AS life FROM api_tokens "
                             "WHERE user_id = :u"), {"u": user.user_id}).one()
        stored = " ".join(str(v) for v in s.execute(text("SELECT * FROM api_tokens WHERE user_id = :u"), {"u": user.user_id}).one())
        listed = list_tokens(s, email=user.email)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    assert row.prefix == secret[:10] and row.name == "nightly export" and row.life.days == 30
    assert [t.name for t in listed] == ["nightly export"] and not hasattr(listed[0], "secret")


def test_token_acts_as_its_user_with_role_and_scope(app, database, users, tok_students):
    token = _token(database, users["teacher"].email)
    client = make_client(app)
    me = client.get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200, me.get_data(as_text=True)
    assert me.get_json()["email"] == users["teacher"].email and me.get_json()["class_ids"] == list(users["teacher"].class_ids)
    listed = client.get("/api/v1/students?per_page=200", headers=_bearer(token)).get_json()
    assert {row["id"] for row in listed["items"]} == set(tok_students["teacher"])
    assert client.get(f"/api/v1/students/{tok_students['teacher'][0]}", headers=_bearer(token)).status_code == 200
    assert "Set-Cookie" not in me.headers  # a token request makes no session


def test_teachers_token_gets_404_for_another_class_like_a_missing_id(app, database, users, tok_students):
    token = _token(database, users["teacher"].email)
    client = make_client(app)
    other = tok_students["teacher2"][0]
    with database.begin() as s:
        missing = s.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM students")).scalar_one()
    outside = client.get(f"/api/v1/students/{other}", headers=_bearer(token))
    absent = client.get(f"/api/v1/students/{missing}", headers=_bearer(token))
    assert outside.status_code == absent.status_code == 404
    sentence = "No such student in your classes."
    assert outside.get_json() == absent.get_json() == {
        "type": "about:blank", "title": "Not Found", "status": 404, "detail": sentence, "error": sentence}
    assert outside.mimetype == absent.mimetype == "application/problem+json"
    admin_token = _token(database, users["admin"].email)
    assert client.get(f"/api/v1/students/{other}", headers=_bearer(admin_token)).status_code == 200


def _refused(client: FlaskClient, token: str) -> None:
    response = client.get("/api/v1/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"] == BAD_TOKEN
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoking_ends_the_token_at_once(app, database):
    user = make_user(database, "tok-revoke@test.example", "staff")
    token = _token(database, user.email)
    client = make_client(app)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    with database.begin() as s:
        token_id = list_tokens(s, email=user.email)[0].id
        revoke_token(s, token_id=token_id, actor="test")
    _refused(client, token)
    with database.begin() as s:
        assert list_tokens(s, email=user.email)[0].revoked_at is not None
        actions = s.execute(text("SELECT action FROM audit_log WHERE target = :t ORDER BY id"), {"t": user.email}).scalars().all()
    assert actions[-2:] == ["token.create", "token.revoke"]


def test_expired_token_is_refused(app, database):
    user = make_user(database, "tok-expired@test.example", "staff")
    token = _token(database, user.email, expires_days=1)
    client = make_client(app)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    with database.begin() as s:
        s.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE user_id = :u"), {"u": user.user_id})
    _refused(client, token)


def test_deactivating_the_user_ends_their_tokens(app, database):
    user = make_user(database, "tok-deactivated@test.example", "staff")
    token = _token(database, user.email, expires_days=None)
    client = make_client(app)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    with database.begin() as s:
        deactivate_user(s, email=user.email, actor="test")
    _refused(client, token)


def test_last_use_is_recorded(app, database):
    user = make_user(database, "tok-used@test.example", "staff")
    token = _token(database, user.email)
    make_client(app).get("/api/v1/me", headers=_bearer(token))
    with database.begin() as s:
        assert list_tokens(s, email=user.email)[0].last_used_at is not None


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer sp_" + "x" * 43, BAD_TOKEN),
        ("Bearer not-a-token", BAD_TOKEN),
        ("Bearer ", BEARER_ONLY),
        ("Basic YWRtaW5AdGVzdC5leGFtcGxlOnBhc3N3b3Jk", BEARER_ONLY),
        ("ApiKey abc", BEARER_ONLY),
    ],
)
def test_other_credentials_get_401(anon_client, header, message):
    response = anon_client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["error"] == message


def test_token_works_on_the_api_only(app, database):
    user = make_user(database, "tok-scope@test.example", "admin")
    token = _token(database, user.email)
    client = make_client(app)
    page = client.get("/", headers=_bearer(token))
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    layout = client.get("/_dash-layout", headers=_bearer(token))
    assert layout.status_code == 401


def test_token_requests_need_no_csrf_but_session_requests_do(app, database, admin_client):
    user = make_user(database, "tok-csrf@test.example", "staff")
    token = _token(database, user.email)
    no_such_endpoint = "This address accepts only GET."  # 405: past the guard
    by_token = make_client(app).post("/api/v1/me", headers=_bearer(token))
    assert by_token.status_code == 405 and by_token.get_json()["error"] == no_such_endpoint  # past the guard
    by_session = admin_client.post("/api/v1/me")
    assert by_session.status_code == 403 and by_session.get_json()["error"] == CSRF_MISSING
    with admin_client.session_transaction() as flask_session:
        csrf = flask_session["_csrf"]
    with_csrf = admin_client.post("/api/v1/me", headers={CSRF_HEADER: csrf})
    assert with_csrf.status_code == 405 and with_csrf.get_json()["error"] == no_such_endpoint


def test_token_creation_refuses_bad_input(database):
    user = make_user(database, "tok-bad@test.example", "staff")
    with database.begin() as s:
        with pytest.raises(NotFound):
            create_token(s, email="nobody@test.example")
        with pytest.raises(InvalidInput, match="1 to 3650 days"):
            create_token(s, email=user.email, expires_days=0)
        with pytest.raises(InvalidInput, match="name"):
            create_token(s, email=user.email, name="  ")
        with pytest.raises(NotFound):
            revoke_token(s, token_id=10**9)
    with database.begin() as s:
        deactivate_user(s, email=user.email)
    with database.begin() as s, pytest.raises(InvalidInput, match="deactivated"):
        create_token(s, email=user.email)
