"""The described API: OpenAPI document and docs page, problem+json errors, paging, the new read endpoints per role,
their audit rows (denied look-ups included) and the per-user rate limit."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import wipe  # noqa: E402
from webtools import make_client, make_user  # noqa: E402

from dashboard.app import create_app  # noqa: E402
from dashboard.security import inline_script_hashes  # noqa: E402
from db.database import Database  # noqa: E402
from etl.generate import write_school  # noqa: E402
from etl.pipeline import ingest_file  # noqa: E402
from ml.score import score_all  # noqa: E402
from ml.train import train_and_register  # noqa: E402
from services import audit  # noqa: E402
from services.tokens import create_token  # noqa: E402

PROBLEM = "application/problem+json"
SINCE = {"id": 0}  # the last audit entry before the current test
NEW_PATHS = ("/api/v1/kpis", "/api/v1/at-risk", "/api/v1/students/{student_id}/risk",
             "/api/v1/students/{student_id}/risk/history", "/api/v1/ingest", "/api/v1/students", "/api/v1/me")


@pytest.fixture(scope="module")
def scored(database: Database, settings, tmp_path_factory) -> Iterator[dict[int, int]]:
    """120 generated students ingested, a model trained and everyone scored; students per class id."""
    folder = tmp_path_factory.mktemp("api-v1")
    wipe(database)
    report = ingest_file(database, write_school(folder / "school.csv", 120, seed=3, years=2), school="API School",
                         force=True)
    assert report.status == "succeeded", report.message
    ml_settings = settings.with_(home=folder)
    train_and_register(database, ml_settings, seed=0)
    score_all(database, ml_settings)
    with database.begin() as s:
        sizes = dict(s.execute(text(  # the students on roll: last year's graduates are history, not today's figures
            "SELECT class_id, count(*) FROM student_summary WHERE school_year = (SELECT max(school_year) FROM classes) "
            "GROUP BY class_id")).tuples().all())
    yield sizes
    wipe(database)


def bearer(database: Database, email: str) -> dict[str, str]:
    """An Authorization header with a fresh token of ``email``."""
    with database.begin() as s:
        return {"Authorization": f"Bearer {create_token(s, email=email, actor='test').secret}"}


def student_in(database: Database, class_id: int) -> int:
    """The lowest student id of a class."""
    with database.begin() as s:
        return s.execute(text("SELECT min(student_id) FROM student_summary WHERE class_id = :c"), {"c": class_id}).scalar_one()


@pytest.fixture(autouse=True)
def audit_since(database: Database) -> None:
    """Audit entries of the current test only (earlier test files, e.g. test_api_schema.py, audit the same users)."""
    with database.begin() as s:
        SINCE["id"] = s.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def audit_rows(database: Database, action: str, user_id: int) -> list[tuple[str, dict]]:
    """(target, details) of a user's audit entries of one action in this test, oldest first."""
    with database.begin() as s:
        rows = s.execute(text("SELECT target, details FROM audit_log WHERE action = :a AND user_id = :u AND id > :i "
                              "ORDER BY id"), {"a": action, "u": user_id, "i": SINCE["id"]}).all()
    return [(r.target, r.details) for r in rows]


def assert_problem(response, status: int, words: str) -> dict:
    """The response is a problem+json of ``status`` whose sentence contains ``words``."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert words in body["detail"] and body["detail"].endswith("."), body
    return body


# --------------------------------------------------------------------------- document, docs page, errors


def test_openapi_document_describes_every_endpoint_and_problem_errors(admin_client):
    response = admin_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "Student performance API"
    for path in NEW_PATHS:
        assert path in spec["paths"], path
    at_risk = spec["paths"]["/api/v1/at-risk"]["get"]
    names = {p["name"] for p in at_risk["parameters"]}
    assert {"tier", "rose", "sort", "page", "limit", "grade", "class", "from", "study"} <= names
    assert list(at_risk["responses"]["404"]["content"]) == [PROBLEM]
    assert "bearer" in spec["components"]["securitySchemes"]
    assert "multipart/form-data" in spec["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]
    add_note = spec["paths"]["/api/v1/students/{student_id}/notes"]["post"]
    assert add_note["tags"] == ["workflow"] and "application/json" in add_note["requestBody"]["content"]
    assert "201" in add_note["responses"] and list(add_note["responses"]["400"]["content"]) == [PROBLEM]
    assert spec["paths"]["/api/v1/me/alerts"]["get"]["parameters"][0]["name"] == "unread"


def test_document_and_docs_page_are_behind_the_login(anon_client):
    assert_problem(anon_client.get("/api/v1/openapi.json"), 401, "Log in")
    page = anon_client.get("/api/v1/docs")  # a person's page: the login form first, then back here
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/api/v1/docs"
    assert_problem(anon_client.get("/api/v1/docs/assets/swagger-ui-bundle.js"), 401, "Log in")


def test_docs_page_is_served_from_local_files_under_the_csp(staff_client):
    page = staff_client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert inline_script_hashes(html) == []  # no inline script: the CSP's script-src 'self' runs it
    assert "http://" not in html and "https://" not in html  # no CDN
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "docs-init.js"):
        served = staff_client.get(f"/api/v1/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.get_data()) > 100, asset
    assert staff_client.get("/api/v1/docs/assets/..%2Fsecret").status_code == 404
    assert staff_client.get("/api/v1/docs/assets/index.html").status_code == 404


def test_every_api_error_is_a_problem_with_a_sentence(app, anon_client, admin_client):
    assert_problem(anon_client.get("/api/v1/students"), 401, "Log in")
    assert_problem(make_client(app).get("/api/v1/me", headers={"Authorization": "Bearer sp_nope"}), 401, "not valid")
    assert_problem(make_client(app).get("/api/v1/me", headers={"Authorization": "Basic eDp5"}), 401, "Bearer")
    assert_problem(admin_client.get("/api/v1/nothing-here"), 404, "no such API endpoint")
    assert_problem(admin_client.post("/api/v1/ingest"), 403, "CSRF")
    assert_problem(admin_client.get("/api/v1/at-risk?limit=abc"), 400, "limit must be a whole number")
    wrong = assert_problem(admin_client.get("/api/v1/ingest"), 405, "accepts only POST")
    assert admin_client.get("/api/v1/ingest").headers["Allow"] == "POST" and wrong["status"] == 405
    assert_problem(admin_client.get("/api/v1/kpis?grade=99"), 400, "grade must be at most 13")
    assert_problem(admin_client.get("/api/v1/kpis?from=yesterday"), 400, "from must be a date")
    assert_problem(admin_client.get("/api/v1/at-risk?tier=Huge"), 400, "tier must be one of")


# --------------------------------------------------------------------------- read endpoints per role


def test_kpis_per_role_and_filters(scored, client_for, users):
    admin = client_for("admin").get("/api/v1/kpis").get_json()
    assert admin["n_students"] == sum(scored.values()) and 0 < admin["n_scored"] <= admin["n_students"]
    assert 0 <= admin["at_risk_share"] <= 1 and admin["filters"] == {}
    own = users["teacher"].class_ids[0]
    teacher = client_for("teacher").get("/api/v1/kpis").get_json()
    assert teacher["n_students"] == scored[own]
    other = users["teacher2"].class_ids[0]
    filtered = client_for("teacher").get(f"/api/v1/kpis?class={other}").get_json()
    assert filtered["n_students"] == 0 and filtered["filters"] == {"class": str(other)}


def test_at_risk_pages_say_their_total_and_next_link(scored, client_for, users, database):
    teacher = client_for("teacher")
    own = users["teacher"].class_ids[0]
    first = teacher.get("/api/v1/at-risk?limit=5&sort=name&order=asc").get_json()
    assert first["total"] == scored[own] and first["limit"] == 5 and first["offset"] == 0
    assert first["pages"] == -(-scored[own] // 5) and len(first["items"]) == 5
    assert first["next"].startswith("/api/v1/at-risk?") and "offset=5" in first["next"]
    nxt = urlsplit(first["next"])
    second = teacher.get(f"{nxt.path}?{nxt.query}").get_json()
    assert second["offset"] == 5 and {r["student_id"] for r in first["items"]}.isdisjoint(
        {r["student_id"] for r in second["items"]})
    by_page = teacher.get("/api/v1/at-risk?limit=5&sort=name&order=asc&page=2").get_json()
    assert [r["student_id"] for r in by_page["items"]] == [r["student_id"] for r in second["items"]]
    assert "page=3" in by_page["next"]
    last = teacher.get(f"/api/v1/at-risk?limit=5&page={first['pages']}").get_json()
    assert last["next"] is None
    in_class = {r["class_id"] for r in teacher.get("/api/v1/at-risk?limit=500").get_json()["items"]}
    assert in_class == {own}
    rows = audit_rows(database, audit.STUDENT_LIST, users["teacher"].user_id)
    assert rows[0][0] == "at-risk" and rows[0][1]["rows"] == 5 and rows[0][1]["filters"]["sort"] == "name"
    assert rows[0][1]["via"] == "session"


def test_at_risk_as_csv_is_the_whole_scoped_list_and_audited_as_an_export(scored, client_for, users, database):
    response = client_for("teacher").get("/api/v1/at-risk?tier=High", headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert all(r["tier"] == "High" for r in rows)
    exports = audit_rows(database, audit.EXPORT, users["teacher"].user_id)
    assert exports[-1][1]["rows"] == len(rows) and exports[-1][1]["tier"] == "High" and exports[-1][1]["page"] == "api"
    json_answer = client_for("teacher").get("/api/v1/at-risk?tier=High", headers={"Accept": "application/json"})
    assert json_answer.mimetype == "application/json" and json_answer.get_json()["total"] == len(rows)
    assert_problem(client_for("teacher").get("/api/v1/at-risk?rose=1", headers={"Accept": "text/csv"}), 400, "rose")


def test_student_risk_and_history_in_scope_and_denied_outside(scored, app, database, users):
    own = student_in(database, users["teacher"].class_ids[0])
    other = student_in(database, users["teacher2"].class_ids[0])
    client, headers = make_client(app), bearer(database, users["teacher"].email)
    risk = client.get(f"/api/v1/students/{own}/risk", headers=headers).get_json()
    assert risk["student_id"] == own and risk["risk"]["tier"] in ("High", "Moderate", "Low") and risk["note"] is None
    assert "100" not in risk["risk"]["risk"].split("%")[0]
    history = client.get(f"/api/v1/students/{own}/risk/history", headers=headers).get_json()
    assert len(history["points"]) == 1 and history["points"][0]["tier"] == risk["risk"]["tier"] and history["sentence"]
    with database.begin() as s:
        missing = s.execute(text("SELECT max(id) + 1000 FROM students")).scalar_one()
    for path in ("risk", "risk/history", "explanation"):
        outside = client.get(f"/api/v1/students/{other}/{path}", headers=headers)
        absent = client.get(f"/api/v1/students/{missing}/{path}", headers=headers)
        assert_problem(outside, 404, "No such student in your classes")
        assert outside.get_json() == absent.get_json()
    views = audit_rows(database, audit.STUDENT_VIEW, users["teacher"].user_id)
    assert [(t, d["what"], d["via"]) for t, d in views] == [(str(own), "risk", "token"), (str(own), "risk history", "token")]
    denied = audit_rows(database, audit.STUDENT_DENIED, users["teacher"].user_id)
    assert [(t, d["what"]) for t, d in denied] == [
        (str(other), "risk"), (str(missing), "risk"), (str(other), "risk history"), (str(missing), "risk history"),
        (str(other), "explanation"), (str(missing), "explanation")]


def test_student_reads_are_audited_with_rows_and_denials(scored, client_for, users, database):
    teacher = client_for("teacher")
    listed = teacher.get("/api/v1/students?per_page=3").get_json()
    assert listed["total"] == scored[users["teacher"].class_ids[0]] and listed["next"].endswith("page=2")
    other = student_in(database, users["teacher2"].class_ids[0])
    assert_problem(teacher.get(f"/api/v1/students/{other}"), 404, "No such student")
    lists = audit_rows(database, audit.STUDENT_LIST, users["teacher"].user_id)
    assert lists[-1] == ("students", {"page": "api", "via": "session", "what": "students", "rows": 3,
                                      "filters": {"per_page": 3}})
    assert audit_rows(database, audit.STUDENT_DENIED, users["teacher"].user_id)[-1][0] == str(other)


# --------------------------------------------------------------------------- rate limit


def test_rate_limit_per_user_answers_429_as_a_problem(test_settings, database):
    app = create_app(test_settings.with_(api_rate_limit="3/minute"))
    first = make_user(database, "rate-one@test.example", "staff")
    second = make_user(database, "rate-two@test.example", "staff")
    client = make_client(app)
    one, two = bearer(database, first.email), bearer(database, second.email)
    assert [client.get("/api/v1/me", headers=one).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/v1/me", headers=one)
    assert_problem(refused, 429, "Too many requests")
    assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/me", headers=two).status_code == 200  # another user has their own counter


def test_a_bad_rate_limit_setting_stops_start_up(test_settings):
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match="API_RATE_LIMIT"):
        create_app(test_settings.with_(api_rate_limit="lots"))
