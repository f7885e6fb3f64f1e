"""The guard against a hostile client: every page, Dash endpoint, callback and API route refuses anonymous
requests whatever the body claims; teachers see only their classes; CSRF and cross-site posts refused."""

from __future__ import annotations

import re

import dash
import pytest
from sqlalchemy import text
from webtools import PASSWORD, callback_bodies, dash_body, login, make_client, make_user

from dashboard.auth import requires_role

DASH_GETS = ("/_dash-layout", "/_dash-dependencies", "/_reload-hash")
API_GETS = ("/api/v1/me", "/api/v1/students", "/api/v1/students/1", "/api/v1/nope")


def _assert_refused_json(response) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "Log in to use this."


def _page_paths() -> list[str]:
    return sorted({page["path"] for page in dash.page_registry.values()} | {"/", "/no/such/page"})


def test_anonymous_page_gets_redirect_to_login(app, anon_client):
    for path in _page_paths():
        response = anon_client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/login?next={path}"


def test_anonymous_redirect_keeps_a_safe_next_only(anon_client):
    assert anon_client.get("/effects/sports?grade=9").headers["Location"] == "/login?next=/effects/sports%3Fgrade%3D9"
    hostile = anon_client.get("/", environ_overrides={"PATH_INFO": "//evil.example/"})
    location = hostile.headers["Location"]
    assert hostile.status_code == 302 and location.startswith("/login?next=/")
    assert not location.startswith("/login?next=//")  # stays a path on this site


@pytest.mark.parametrize("path", DASH_GETS + API_GETS)
def test_anonymous_dash_and_api_endpoints_get_401_json(anon_client, path):
    _assert_refused_json(anon_client.get(path))


def test_every_registered_callback_refuses_anonymous(app, dash_app, anon_client):
    keys = []
    for key, body in callback_bodies(dash_app):
        keys.append(key)
        _assert_refused_json(anon_client.post("/_dash-update-component", json=body))
    assert len(keys) >= 3  # at least the shell's and the page router's callbacks were tried


@pytest.mark.parametrize("claimed", ["/login", "/healthz", "/assets/style.css", "/", "/effects/sports"])
def test_callback_body_claiming_a_public_page_is_still_refused(anon_client, claimed):
    body = dash_body(
        ["_pages_content.children", "_pages_store.data"],
        [("_pages_location", "pathname", claimed), ("_pages_location", "search", "")],
    )
    response = anon_client.post(
        "/_dash-update-component",
        json=body,
        headers={"Referer": f"http://localhost{claimed}", "X-Forwarded-For": "127.0.0.1", "X-Original-URL": claimed},
    )
    _assert_refused_json(response)


def test_forged_session_cookie_is_refused(app, anon_client):
    anon_client.set_cookie("studentperf_session", "eyJfdXNlcl9pZCI6IjE6MCJ9.forged.signature")
    _assert_refused_json(anon_client.get("/api/v1/me"))
    body = dash_body("shell-navbar-collapse.is_open", [("shell-navbar-toggler", "n_clicks", 1)])
    _assert_refused_json(anon_client.post("/_dash-update-component", json=body))


def test_wrong_methods_and_unknown_routes_are_refused_too(anon_client):
    _assert_refused_json(anon_client.get("/_dash-update-component"))
    _assert_refused_json(anon_client.post("/api/v1/students", json={}))
    _assert_refused_json(anon_client.post("/", data={}))


def test_static_assets_and_component_suites_are_public(app, admin_client, anon_client):
    assert anon_client.get("/assets/style.css").status_code == 200
    index = admin_client.get("/").get_data(as_text=True)
    scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', index)
    assert scripts, "the index page lists Dash's scripts"
    assert anon_client.get(scripts[0]).status_code == 200
    assert anon_client.get("/_dash-component-suites/dash/../../../etc/passwd").status_code == 404
    assert anon_client.get("/_dash-component-suites/os/path.py").status_code in (401, 404)


def test_login_page_and_healthz_are_public(anon_client):
    assert anon_client.get("/login").status_code == 200
    assert anon_client.get("/healthz").status_code == 200


def test_logged_in_users_reach_dash(admin_client, dash_post):
    assert admin_client.get("/").status_code == 200
    assert admin_client.get("/_dash-layout").status_code == 200
    response = dash_post(admin_client, "shell-navbar-collapse.is_open", [("shell-navbar-toggler", "n_clicks", 1)], [("shell-navbar-collapse", "is_open", False)])
    assert response.status_code == 200
    assert response.get_json()["response"]["shell-navbar-collapse"]["is_open"] is True


def test_cross_site_post_is_refused(admin_client):
    body = dash_body("shell-navbar-collapse.is_open", [("shell-navbar-toggler", "n_clicks", 1)], [("shell-navbar-collapse", "is_open", False)])
    response = admin_client.post("/_dash-update-component", json=body, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    same_site = admin_client.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
    assert same_site.status_code == 200


def test_callback_post_must_be_json(admin_client):
    response = admin_client.post("/_dash-update-component", data="output=x", content_type="text/plain")
    assert response.status_code in (400, 415)
    assert "Traceback" not in response.get_data(as_text=True)


def test_security_headers(admin_client):
    response = admin_client.get("/api/v1/me")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


# --------------------------------------------------------------------------- scope in the API


@pytest.fixture()
def students(database, users):
    """Three students in teacher's class, two in teacher2's (committed; removed afterwards)."""
    class_a, class_b = users["teacher"].class_ids[0], users["teacher2"].class_ids[0]
    ids: dict[str, list[int]] = {"teacher": [], "teacher2": []}
    with database.begin() as s:
        for owner, class_id, n in (("teacher", class_a, 3), ("teacher2", class_b, 2)):
            school = s.execute(text("SELECT school_id FROM classes WHERE id = :c"), {"c": class_id}).scalar_one()
            for i in range(n):
                sid = s.execute(
                    text("INSERT INTO students (school_id, source_id, name) VALUES (:s, :src, :n) RETURNING id"),
                    {"s": school, "src": f"sec-{owner}-{i}", "n": f"Student {owner} {i}"},
                ).scalar_one()
                s.execute(
                    text("INSERT INTO student_summary (student_id, school_id, class_id, grade_level, n_weeks, score_mean) VALUES (:id, :s, :c, 9, 10, 70)"),
                    {"id": sid, "s": school, "c": class_id},
                )
                ids[owner].append(sid)
    yield ids
    with database.begin() as s:
        s.execute(text("DELETE FROM students WHERE source_id LIKE 'sec-%'"))


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {row["id"] for row in response.get_json()["items"]}


def test_teacher_lists_only_their_classes(client_for, students, users):
    teacher = client_for("teacher")
    assert _ids(teacher.get("/api/v1/students?per_page=200")) == set(students["teacher"])
    other_class = users["teacher2"].class_ids[0]
    response = teacher.get(f"/api/v1/students?class_id={other_class}")
    assert _ids(response) == set() and response.get_json()["total"] == 0


def test_teacher_gets_404_for_other_classes_students(client_for, students):
    teacher = client_for("teacher")
    for sid in students["teacher2"]:
        response = teacher.get(f"/api/v1/students/{sid}")
        assert response.status_code == 404
        assert response.get_json()["error"] == "No such student in your classes."
    assert teacher.get(f"/api/v1/students/{students['teacher'][0]}").status_code == 200


def test_admin_and_staff_see_everyone(client_for, students):
    everyone = set(students["teacher"]) | set(students["teacher2"])
    for role in ("admin", "staff"):
        assert everyone <= _ids(client_for(role).get("/api/v1/students?per_page=200"))


def test_paging_and_bad_parameters(client_for, students):
    teacher = client_for("teacher")
    first = teacher.get("/api/v1/students?per_page=2&page=1").get_json()
    second = teacher.get("/api/v1/students?per_page=2&page=2").get_json()
    assert first["total"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    assert {r["id"] for r in first["items"]}.isdisjoint({r["id"] for r in second["items"]})
    bad = teacher.get("/api/v1/students?page=abc")
    assert bad.status_code == 400 and bad.get_json()["error"] == "page must be a whole number, not 'abc'."
    assert teacher.get("/api/v1/students?per_page=100000").status_code == 400
    assert teacher.get("/api/v1/students/not-a-number").status_code == 404


def test_profile_views_are_audited(client_for, students, users, database):
    sid = students["teacher"][0]
    client_for("teacher").get(f"/api/v1/students/{sid}")
    with database.begin() as s:
        row = s.execute(
            text("SELECT user_id, target FROM audit_log WHERE action = 'student.view' ORDER BY id DESC LIMIT 1")
        ).one()
    assert row.user_id == users["teacher"].user_id and row.target == str(sid)


# --------------------------------------------------------------------------- dash-auth groups = the role


def test_role_only_callback_uses_the_role_as_dash_auth_group(test_settings, database):
    from dashboard.app import DASH_KEY, create_app

    app = create_app(test_settings)
    dash_app = app.extensions[DASH_KEY]

    def admin_only(n_clicks):
        return f"secret {n_clicks}"

    dash_app.callback(dash.Output("admin-only-out", "children"), dash.Input("admin-only-btn", "n_clicks"))(requires_role("admin")(admin_only))
    body = dash_body("admin-only-out.children", [("admin-only-btn", "n_clicks", 1)])
    admin = make_user(database, "role-admin@test.example", "admin")
    teacher = make_user(database, "role-teacher@test.example", "teacher")
    clients = {}
    for user in (admin, teacher):
        clients[user.role] = make_client(app)
        login(clients[user.role], user.email, PASSWORD)
    assert clients["teacher"].post("/_dash-update-component", json=body).status_code == 204
    response = clients["admin"].post("/_dash-update-component", json=body)
    assert response.status_code == 200 and "secret 1" in response.get_data(as_text=True)
    with database.begin() as s:  # demoted in the database: the group follows on the next request
        s.execute(text("UPDATE users SET role = 'staff' WHERE id = :u"), {"u": admin.user_id})
    assert clients["admin"].post("/_dash-update-component", json=body).status_code == 204
