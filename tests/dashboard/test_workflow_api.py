"""The workflow API over HTTP: scope 404s identical to a missing id, the owner refusal, one audit entry per change,
CSRF with a session (the token from the page's <meta>), none with a Bearer token; caseload and alerts."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard.security import CSRF_HEADER
from db.database import Database
from services.tokens import create_token

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "services"))
from analytics_data import wipe  # noqa: E402
from workflow_seed import WORKFLOW_TABLES, WorkflowWorld, seed_workflow  # noqa: E402

META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SINCE = {"id": 0}  # audit entries of the current test only: those after this id


def _wipe(database: Database) -> None:
    wipe(database)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(WORKFLOW_TABLES)} RESTART IDENTITY CASCADE"))


@pytest.fixture()
def world(database: Database) -> Iterator[WorkflowWorld]:
    _wipe(database)
    with database.begin() as s:
        seeded = seed_workflow(s)
        SINCE["id"] = s.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    yield seeded
    _wipe(database)


@pytest.fixture()
def wf(world, users):
    """The world and the users (created after it, so the teachers get its classes 9A and 9B)."""
    assert users["teacher"].class_ids == (world.classes[0],)
    return world, users


def csrf(client) -> str:
    page = client.get("/")
    match = META.search(page.get_data(as_text=True))
    assert match, "no csrf-token meta in the page"
    return match.group(1)


def send(client, method: str, url: str, json=None):
    return client.open(url, method=method, json=json, headers={CSRF_HEADER: csrf(client)})


def audit_count(database: Database, action: str) -> int:
    with database.begin() as s:
        return s.execute(text("SELECT count(*) FROM audit_log WHERE action = :a AND id > :i"),
                         {"a": action, "i": SINCE["id"]}).scalar_one()


def test_every_page_carries_the_csrf_token_in_a_meta_tag(wf, teacher_client) -> None:
    for path in ("/", "/at-risk", "/caseload"):
        assert META.search(teacher_client.get(path).get_data(as_text=True)), path


def test_out_of_scope_students_get_the_same_404_as_missing_ids(wf, client_for, database) -> None:
    world, users = wf
    other = client_for("teacher2")
    ada, missing = world.students["ada"], 987654321
    calls = [("GET", "/api/v1/students/{}/interventions", None),
             ("POST", "/api/v1/students/{}/interventions", {"type": "tutoring", "owner_id": users["teacher2"].user_id}),
             ("GET", "/api/v1/students/{}/notes", None),
             ("POST", "/api/v1/students/{}/notes", {"body": "hello"}),
             ("POST", "/api/v1/students/{}/feedback", {"verdict": "not at risk", "comment": "fine"}),
             ("PUT", "/api/v1/students/{}/star", {"starred": True})]
    for method, url, body in calls:
        hidden, absent = send(other, method, url.format(ada), body), send(other, method, url.format(missing), body)
        assert hidden.status_code == absent.status_code == 404, (method, url, hidden.get_data(as_text=True))
        assert hidden.get_json() == absent.get_json(), (method, url)
        assert hidden.get_json()["detail"] == "No such student in your classes." and hidden.get_json()["status"] == 404
    admin = client_for("admin")
    made = send(admin, "POST", f"/api/v1/students/{ada}/interventions", {"type": "tutoring",
                                                                          "owner_id": users["admin"].user_id})
    assert made.status_code == 201
    hidden = send(other, "PATCH", f"/api/v1/interventions/{made.get_json()['id']}", {"status": "active"})
    absent = send(other, "PATCH", "/api/v1/interventions/99999999", {"status": "active"})
    assert hidden.status_code == absent.status_code == 404 and hidden.get_json() == absent.get_json()
    assert audit_count(database, "intervention.edit") == 0


def test_a_teacher_cannot_make_an_owner_of_someone_who_cannot_see_the_student(wf, teacher_client, database) -> None:
    world, users = wf
    r = send(teacher_client, "POST", f"/api/v1/students/{world.students['ada']}/interventions",
             {"type": "tutoring", "owner_id": users["teacher2"].user_id})
    assert r.status_code == 400
    assert "cannot see this student" in r.get_json()["error"]
    assert audit_count(database, "intervention.add") == 0


def test_each_change_writes_exactly_one_audit_entry(wf, teacher_client, database) -> None:
    world, users = wf
    ada = world.students["ada"]
    me = users["teacher"].user_id
    made = send(teacher_client, "POST", f"/api/v1/students/{ada}/interventions",
                {"type": "parent meeting", "owner_id": me, "start_date": "2026-03-01", "next_review": "2026-03-20",
                 "status": "active"})
    assert made.status_code == 201 and made.get_json()["owner"] == users["teacher"].email
    assert audit_count(database, "intervention.add") == 1
    patched = send(teacher_client, "PATCH", f"/api/v1/interventions/{made.get_json()['id']}",
                   {"status": "completed", "outcome": "Met both parents."})
    assert patched.status_code == 200 and patched.get_json()["status"] == "completed"
    assert audit_count(database, "intervention.edit") == 1
    note = send(teacher_client, "POST", f"/api/v1/students/{ada}/notes",
                {"kind": "letter", "body": "Sent a letter home.", "occurred_on": "2026-03-02"})
    assert note.status_code == 201 and audit_count(database, "note.add") == 1
    edited = send(teacher_client, "PATCH", f"/api/v1/notes/{note.get_json()['id']}", {"body": "Sent two letters."})
    assert edited.status_code == 200 and audit_count(database, "note.edit") == 1
    with database.begin() as s:
        details = s.execute(text("SELECT details FROM audit_log WHERE action = 'note.edit' AND id > :i"),
                            {"i": SINCE["id"]}).scalar_one()
    assert details["previous"] == {"body": "Sent a letter home."}
    given = send(teacher_client, "POST", f"/api/v1/students/{ada}/feedback",
                 {"verdict": "already supported", "comment": "Tutoring since March."})
    assert given.status_code == 201 and given.get_json()["tier"] == "High"
    assert audit_count(database, "feedback.add") == 1
    assert send(teacher_client, "PUT", f"/api/v1/students/{ada}/star", {"starred": True}).status_code == 200
    assert audit_count(database, "student.star") == 1
    listed = teacher_client.get(f"/api/v1/students/{ada}/interventions").get_json()
    assert [i["status"] for i in listed["items"]] == ["completed"] and "tutoring" in listed["types"]
    assert [n["body"] for n in teacher_client.get(f"/api/v1/students/{ada}/notes").get_json()["items"]] == [
        "Sent two letters."]


def test_bad_input_gets_a_4xx_with_a_sentence(wf, teacher_client) -> None:
    world, _ = wf
    ada = world.students["ada"]
    for url, body in ((f"/api/v1/students/{ada}/interventions", {"type": "magic", "owner_id": 1}),
                      (f"/api/v1/students/{ada}/notes", {"body": ""}),
                      (f"/api/v1/students/{ada}/feedback", {"verdict": "not at risk"}),
                      (f"/api/v1/students/{ada}/notes", ["not", "an", "object"])):
        r = send(teacher_client, "POST", url, body)
        assert r.status_code == 400, (url, r.status_code)
        assert r.get_json()["error"].endswith("."), r.get_json()


def test_session_changes_need_the_csrf_token_but_bearer_tokens_do_not(wf, teacher_client, database, app) -> None:
    world, users = wf
    url = f"/api/v1/students/{world.students['ben']}/notes"
    refused = teacher_client.post(url, json={"body": "no token"})
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    wrong = teacher_client.post(url, json={"body": "wrong token"}, headers={CSRF_HEADER: "nope"})
    assert wrong.status_code == 403
    assert audit_count(database, "note.add") == 0
    with database.begin() as s:
        secret = create_token(s, email=users["teacher"].email, name="wf").secret
    bearer = app.test_client().post(url, json={"body": "by script"}, headers={"Authorization": f"Bearer {secret}"})
    assert bearer.status_code == 201, bearer.get_data(as_text=True)
    assert audit_count(database, "note.add") == 1


def test_caseload_and_alerts_of_the_logged_in_user(wf, teacher_client, client_for) -> None:
    world, users = wf
    ada, ben = world.students["ada"], world.students["ben"]
    send(teacher_client, "POST", f"/api/v1/students/{ada}/interventions",
         {"type": "tutoring", "owner_id": users["teacher"].user_id, "status": "active"})
    send(teacher_client, "PUT", f"/api/v1/students/{ben}/star", {"starred": True})
    load = teacher_client.get("/api/v1/me/caseload").get_json()
    assert {r["student_id"] for r in load["items"]} == {ada, ben} and load["total"] == 2
    assert client_for("teacher2").get("/api/v1/me/caseload").get_json()["items"] == []
    mine = teacher_client.get("/api/v1/me/alerts").get_json()
    assert {a["student_id"] for a in mine["items"]} == {ada, ben} and mine["unread"] == 2
    key = next(a["key"] for a in mine["items"] if a["student_id"] == ada)
    other = send(client_for("teacher2"), "POST", "/api/v1/me/alerts/read", {"keys": [key]})
    assert other.status_code == 404
    assert send(teacher_client, "POST", "/api/v1/me/alerts/read", {"keys": [key]}).get_json() == {"marked": 1}
    assert teacher_client.get("/api/v1/me/alerts?unread=1").get_json()["unread"] == 1
