"""The OpenAPI document checked against the running app with schemathesis: a few generated requests per endpoint
(reads and the workflow's changes), authenticated by a Bearer token made in the test (so no CSRF token), every
answer checked against the document; then one valid pass through the workflow, each answer checked too."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "services"))
from analytics_data import wipe  # noqa: E402
from workflow_seed import WORKFLOW_TABLES  # noqa: E402

from db.database import Database  # noqa: E402
from etl.generate import write_school  # noqa: E402
from etl.pipeline import ingest_file  # noqa: E402
from ml.score import score_all  # noqa: E402
from ml.train import train_and_register  # noqa: E402
from services.tokens import create_token  # noqa: E402

# Not checked: "schema-valid data is accepted". A study band is any short text to the document, but only the bands
# the derivation rules in the database define are accepted (400 with a sentence naming them otherwise).
EXAMPLES = 6  # per operation: enough to cross valid and invalid values, small enough for two shared cores
NO_BODY = object()
SKIPPED = {("POST", "/api/v1/ingest")}  # would load generated files: tested directly in test_api_ingest_cache.py
WORKFLOW = {
    ("GET", "/api/v1/students/{student_id}/interventions"), ("POST", "/api/v1/students/{student_id}/interventions"),
    ("PATCH", "/api/v1/interventions/{intervention_id}"), ("GET", "/api/v1/students/{student_id}/notes"),
    ("POST", "/api/v1/students/{student_id}/notes"), ("PATCH", "/api/v1/notes/{note_id}"),
    ("POST", "/api/v1/students/{student_id}/feedback"), ("PUT", "/api/v1/students/{student_id}/star"),
    ("GET", "/api/v1/me/caseload"), ("GET", "/api/v1/me/alerts"), ("POST", "/api/v1/me/alerts/read"),
    ("PUT", "/api/v1/me/preferences"),
}


def _wipe_workflow(database: Database) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(WORKFLOW_TABLES)} RESTART IDENTITY CASCADE"))


def _wipe_all(database: Database) -> None:
    wipe(database)
    _wipe_workflow(database)


@pytest.fixture(scope="module")
def scored_school(database: Database, settings, tmp_path_factory) -> Iterator[None]:
    """60 generated students ingested, a model trained and everyone scored (so the risk answers are real)."""
    folder = tmp_path_factory.mktemp("api-schema")
    _wipe_all(database)
    ingest_file(database, write_school(folder / "school.csv", 60, seed=8, years=2), school="Schema School", force=True)
    ml_settings = settings.with_(home=folder)
    train_and_register(database, ml_settings, seed=0)
    score_all(database, ml_settings)
    yield
    _wipe_all(database)


def _bearer(database: Database, email: str) -> dict[str, str]:
    with database.begin() as s:
        return {"Authorization": f"Bearer {create_token(s, email=email, actor='test').secret}"}


def _own_student(database: Database, class_id: int, flagged: bool = False) -> int:
    """A student of this class (``flagged``: Moderate or High in the latest scoring run, the likeliest first)."""
    sql = ("SELECT ss.student_id FROM student_summary ss LEFT JOIN predictions p ON p.student_id = ss.student_id "
           "AND p.scoring_run_id = (SELECT max(id) FROM scoring_runs) WHERE ss.class_id = :c "
           + ("AND p.tier <> 'Low' ORDER BY p.probability DESC" if flagged else "ORDER BY ss.student_id") + " LIMIT 1")
    with database.begin() as s:
        found = s.execute(text(sql), {"c": class_id}).scalar_one_or_none()
    assert found is not None, f"no {'flagged ' if flagged else ''}student in class {class_id}"
    return found


def test_the_running_api_answers_as_its_document_says(app, database, users, scored_school):
    headers = _bearer(database, users["teacher"].email)
    own = _own_student(database, users["teacher"].class_ids[0])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    checked = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        checked.add((operation.method.upper(), operation.path))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case) -> None:  # noqa: ANN001
            if case.path_parameters and "student_id" in case.path_parameters and case.path_parameters["student_id"] % 2:
                case.path_parameters["student_id"] = own  # half the look-ups hit a student in scope
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        call()
    reads = {("GET", "/api/v1/kpis"), ("GET", "/api/v1/at-risk"), ("GET", "/api/v1/students/{student_id}/risk/history")}
    assert reads | WORKFLOW <= checked, sorted(reads | WORKFLOW - checked)


class Caller:
    """Valid calls through schemathesis: each answer is checked against the document and its status asserted."""

    def __init__(self, app, headers: dict[str, str]) -> None:  # noqa: ANN001
        self.schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
        self.headers = headers

    def __call__(self, method: str, path: str, status: int, *, body=NO_BODY, **parts):  # noqa: ANN001, ANN003, ANN204
        """Call ``method path`` (``parts``: path_parameters, query) and return the answer's JSON."""
        media = {} if body is NO_BODY else {"body": body, "media_type": "application/json"}
        case = self.schema[f"/api/v1{path}"][method].Case(**parts, **media)
        response = case.call_and_validate(headers=self.headers)
        assert response.status_code == status, (method, path, response.text)
        return response.json()


def test_valid_workflow_calls_answer_as_the_document_says(app, database, users, scored_school):
    _wipe_workflow(database)  # the generated calls above may have left notes, stars and read alerts
    teacher = users["teacher"]
    call = Caller(app, _bearer(database, teacher.email))
    own = {"student_id": _own_student(database, teacher.class_ids[0])}
    flagged = {"student_id": _own_student(database, teacher.class_ids[0], flagged=True)}
    types = call("GET", "/students/{student_id}/interventions", 200, path_parameters=own)["types"]
    made = call("POST", "/students/{student_id}/interventions", 201, path_parameters=own,
                body={"type": types[0], "owner_id": teacher.user_id, "next_review": "2099-01-05"})
    assert made["status"] == "planned" and made["owner_id"] == teacher.user_id
    changed = call("PATCH", "/interventions/{intervention_id}", 200, path_parameters={"intervention_id": made["id"]},
                   body={"status": "active", "outcome": None})
    assert changed["status"] == "active"
    note = call("POST", "/students/{student_id}/notes", 201, path_parameters=own,
                body={"body": "Called home.", "kind": "parent call", "occurred_on": "2026-03-02"})
    edited = call("PATCH", "/notes/{note_id}", 200, path_parameters={"note_id": note["id"]},
                  body={"body": "Called home twice."})
    assert edited["body"] == "Called home twice."
    assert [n["id"] for n in call("GET", "/students/{student_id}/notes", 200, path_parameters=own)["items"]] == [
        note["id"]]
    given = call("POST", "/students/{student_id}/feedback", 201, path_parameters=flagged,
                 body={"verdict": "already supported", "comment": "Tutoring since March."})
    assert given["tier"] in ("Moderate", "High")
    assert call("PUT", "/students/{student_id}/star", 200, path_parameters=flagged, body={"starred": True}) == {
        **flagged, "starred": True}
    load = call("GET", "/me/caseload", 200)
    assert {row["student_id"] for row in load["items"]} == {own["student_id"], flagged["student_id"]}
    mine = call("GET", "/me/alerts", 200)
    assert mine["items"], "the scored school gives the teacher no alert"
    marked = call("POST", "/me/alerts/read", 200, body={"keys": [mine["items"][0]["key"]]})
    assert marked == {"marked": 1}
    assert call("GET", "/me/alerts", 200, query={"unread": "1"})["unread"] == mine["unread"] - 1
    assert call("PUT", "/me/preferences", 200, body={"digest": False}) == {"digest": False}
