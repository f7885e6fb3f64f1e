"""/admin/users over HTTP: refused for teachers and staff (page and every callback), school admins kept to
their schools, the one-time password link end to end, and the shell's admin links and freshness banner."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from test_pages_analytics import find, render  # noqa: E402
from webtools import csrf_from, ensure_classes, login, make_client, make_user, school_of  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.shell import FRESHNESS  # noqa: E402
from services.password_reset import NOT_VALID, hash_token  # noqa: E402

PATH = "/admin/users"
PASSWORD = "a-long-enough-password"
NEW_STATE = [ids.ADMIN_NEW_EMAIL, ids.ADMIN_NEW_NAME, ids.ADMIN_NEW_ROLE, ids.ADMIN_NEW_SCHOOLS, ids.ADMIN_NEW_CLASSES,
             ids.ADMIN_USERS_CREATED]
EDIT_INPUTS = [ids.ADMIN_EDIT_SAVE, ids.ADMIN_EDIT_DEACTIVATE, ids.ADMIN_EDIT_REACTIVATE, ids.ADMIN_EDIT_UNLOCK,
               ids.ADMIN_EDIT_RESET]
LINK = re.compile(r"/reset/([A-Za-z0-9_-]{43})")


def create(client, dash_post, email: str, role: str, schools=(), classes=()):
    values = [email, "New Person", role, list(schools), list(classes), 0]
    state = [(i, "data" if i == ids.ADMIN_USERS_CREATED else "value", v) for i, v in zip(NEW_STATE, values, strict=True)]
    return dash_post(client, [f"{ids.ADMIN_NEW_RESULT}.children", f"{ids.ADMIN_USERS_CREATED}.data"],
                     [(ids.ADMIN_NEW_SUBMIT, "n_clicks", 1)], state=state, triggered=[f"{ids.ADMIN_NEW_SUBMIT}.n_clicks"])


def act(client, dash_post, button: str, user_id, role="teacher", schools=(), classes=()):
    inputs = [(b, "n_clicks", 1 if b == button else 0) for b in EDIT_INPUTS]
    state = [(ids.ADMIN_EDIT_USER, "value", user_id), (ids.ADMIN_EDIT_ROLE, "value", role),
             (ids.ADMIN_EDIT_SCHOOLS, "value", list(schools)), (ids.ADMIN_EDIT_CLASSES, "value", list(classes)),
             (ids.ADMIN_USERS_CHANGED, "data", 0)]
    return dash_post(client, [f"{ids.ADMIN_EDIT_RESULT}.children", f"{ids.ADMIN_USERS_CHANGED}.data"], inputs, state=state,
                     triggered=[f"{button}.n_clicks"])


def listing(client, dash_post):
    return dash_post(client, [f"{ids.ADMIN_USERS_TABLE}.data", f"{ids.ADMIN_EDIT_USER}.options"],
                     [(ids.ADMIN_USERS_CREATED, "data", 0), (ids.ADMIN_USERS_CHANGED, "data", 0)])


def shell_text(client) -> str:
    """The shell's layout as JSON text (slashes unescaped)."""
    return json.dumps(client.get("/_dash-layout").get_json())


def _user_count(database, email: str) -> int:
    with database.begin() as s:
        return s.execute(text("SELECT count(*) FROM users WHERE lower(email) = :e"), {"e": email}).scalar_one()


@pytest.mark.parametrize("role", ["teacher", "staff"])
def test_teachers_and_staff_are_refused_the_page_and_every_callback(users, client_for, dash_post, database, role) -> None:
    client = client_for(role)
    tree = render(client, dash_post, PATH)
    assert find(tree, ids.ADMIN_USERS_PAGE) is None and "Page not found" in json.dumps(tree)
    assert listing(client, dash_post).status_code == 403
    email = f"hostile-{role}@test.example"
    r = create(client, dash_post, email, "admin")
    assert r.status_code == 403 and _user_count(database, email) == 0
    for button in EDIT_INPUTS:
        assert act(client, dash_post, button, users["admin"].user_id, role="teacher").status_code == 403, button
    r = dash_post(client, [f"{ids.ADMIN_EDIT_ROLE}.value", f"{ids.ADMIN_EDIT_SCHOOLS}.value", f"{ids.ADMIN_EDIT_CLASSES}.value"],
                  [(ids.ADMIN_EDIT_USER, "value", users["admin"].user_id)])
    assert r.status_code == 403
    assert "/admin/users" not in shell_text(client)


def test_hostile_values_are_refused_before_the_callback(users, client_for, dash_post) -> None:
    client = client_for("admin")
    r = act(client, dash_post, ids.ADMIN_EDIT_SAVE, "1; DROP TABLE users")
    assert r.status_code == 400
    r = create(client, dash_post, {"$ne": 1}, "teacher")
    assert r.status_code == 400


def test_an_admin_creates_a_teacher_who_sets_a_password_through_the_link(app, users, client_for, dash_post, database) -> None:
    first, second = ensure_classes(database, 2)
    admin = client_for("admin")
    tree = render(admin, dash_post, PATH)
    assert find(tree, ids.ADMIN_USERS_PAGE) is not None
    assert "/admin/users" in shell_text(admin)
    email = "made-by-admin@test.example"
    with database.begin() as s:
        s.execute(text("DELETE FROM users WHERE email = :e"), {"e": email})
    r = create(admin, dash_post, email, "teacher", classes=[first])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    token = LINK.search(json.dumps(r.get_json())).group(1)
    with database.begin() as s:
        stored = s.execute(text("SELECT token_hash FROM password_resets r JOIN users u ON u.id = r.user_id "
                                "WHERE u.email = :e"), {"e": email}).scalars().all()
        assert stored == [hash_token(token)] and token not in json.dumps(stored)
        assert s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'user.add' AND target = :e"), {"e": email}).scalar_one()
    rows = listing(admin, dash_post).get_json()["response"][ids.ADMIN_USERS_TABLE]["data"]
    assert all("password" not in json.dumps(row) for row in rows)
    assert next(row for row in rows if row["email"] == email)["role"] == "Teacher"

    person = make_client(app)
    form = person.get(f"/reset/{token}")
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store" and form.headers["Referrer-Policy"] == "same-origin"
    done = person.post(f"/reset/{token}", data={"csrf_token": csrf_from(form), "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 200 and "Your password is set" in done.get_data(as_text=True)
    again = person.get(f"/reset/{token}")
    assert again.status_code == 404 and NOT_VALID in again.get_data(as_text=True)
    assert login(person, email, PASSWORD).status_code == 302
    assert person.get("/api/v1/me").get_json()["class_ids"] == [first]
    user_id = person.get("/api/v1/me").get_json()["id"]

    assert act(admin, dash_post, ids.ADMIN_EDIT_SAVE, user_id, classes=[second]).status_code == 200
    assert person.get("/api/v1/me").get_json()["class_ids"] == [second]  # read from the database on every request
    assert act(admin, dash_post, ids.ADMIN_EDIT_DEACTIVATE, user_id).status_code == 200
    assert person.get("/api/v1/me").status_code == 401


def test_a_school_admin_is_kept_to_its_school(users, client_for, dash_post, database, app) -> None:
    first, _ = ensure_classes(database, 2)
    mine = school_of(database, first)
    with database.begin() as s:
        other = s.execute(text("INSERT INTO schools (name) VALUES ('Other School') ON CONFLICT (name) DO UPDATE "
                               "SET name = EXCLUDED.name RETURNING id")).scalar_one()
        other_class = s.execute(text("INSERT INTO classes (school_id, name, grade_level, school_year) "
                                     "VALUES (:s, 'O1', 9, '2025-2026') RETURNING id"), {"s": other}).scalar_one()
    try:
        head = make_user(database, "head-a@test.example", "school_admin", school_ids=[mine])
        outsider = make_user(database, "staff-b@test.example", "staff", school_ids=[other])
        client = make_client(app)
        assert login(client, head.email, head.password).status_code == 302
        assert find(render(client, dash_post, PATH), ids.ADMIN_USERS_PAGE) is not None
        emails = {o["label"] for o in listing(client, dash_post).get_json()["response"][ids.ADMIN_EDIT_USER]["options"]}
        assert users["staff"].email in emails and outsider.email not in emails and users["admin"].email not in emails
        for button in EDIT_INPUTS:  # a user of another school answers like a user that does not exist
            assert act(client, dash_post, button, outsider.user_id, role="staff", schools=[other]).status_code == 404, button
        assert act(client, dash_post, ids.ADMIN_EDIT_SAVE, users["staff"].user_id, role="staff", schools=[other]).status_code == 403
        assert create(client, dash_post, "by-head@test.example", "teacher", classes=[other_class]).status_code == 403
        assert create(client, dash_post, "by-head-admin@test.example", "admin", schools=[]).status_code == 403
        assert _user_count(database, "by-head@test.example") == _user_count(database, "by-head-admin@test.example") == 0
    finally:
        with database.begin() as s:
            s.execute(text("DELETE FROM users WHERE email IN ('head-a@test.example', 'staff-b@test.example')"))
            s.execute(text("DELETE FROM schools WHERE id = :s"), {"s": other})


def test_unlock_clears_the_throttle(users, client_for, dash_post, database, app) -> None:
    victim = make_user(database, "locked-out@test.example", "teacher", ensure_classes(database, 1))
    intruder = make_client(app)
    for _ in range(5):
        login(intruder, victim.email, "wrong-password-123")
    assert login(make_client(app), victim.email, victim.password).status_code == 429
    r = act(client_for("admin"), dash_post, ids.ADMIN_EDIT_UNLOCK, victim.user_id)
    assert r.status_code == 200 and "5 failed logins cleared" in r.get_data(as_text=True)
    assert login(make_client(app), victim.email, victim.password).status_code == 302


@pytest.mark.parametrize("token", ["x" * 43, "short", "%2e%2e"])
def test_a_bad_link_gets_one_sentence(anon_client, token) -> None:
    r = anon_client.get(f"/reset/{token}")
    assert r.status_code == 404 and NOT_VALID in r.get_data(as_text=True) and "<form" not in r.get_data(as_text=True)


def test_every_page_shows_the_data_freshness(users, client_for) -> None:
    layout = shell_text(client_for("teacher"))
    assert FRESHNESS in layout and ("Data up to" in layout or "No data loaded yet" in layout)
