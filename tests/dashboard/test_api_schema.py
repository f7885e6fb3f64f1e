"""The OpenAPI document checked against the running app with schemathesis: a few generated requests per read
endpoint, authenticated by a Bearer token made in the test, every answer checked against the document."""

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
from analytics_data import wipe  # noqa: E402

from db.database import Database  # noqa: E402
from etl.generate import write_school  # noqa: E402
from etl.pipeline import ingest_file  # noqa: E402
from ml.score import score_all  # noqa: E402
from ml.train import train_and_register  # noqa: E402
from services.tokens import create_token  # noqa: E402

# Not checked: "schema-valid data is accepted". A study band is any short text to the document, but only the bands
# the derivation rules in the database define are accepted (400 with a sentence naming them otherwise).
EXAMPLES = 6  # per operation: enough to cross valid and invalid values, small enough for two shared cores


@pytest.fixture(scope="module")
def scored_school(database: Database, settings, tmp_path_factory) -> Iterator[None]:
    """60 generated students ingested, a model trained and everyone scored (so the risk answers are real)."""
    folder = tmp_path_factory.mktemp("api-schema")
    wipe(database)
    ingest_file(database, write_school(folder / "school.csv", 60, seed=8, years=2), school="Schema School", force=True)
    ml_settings = settings.with_(home=folder)
    train_and_register(database, ml_settings, seed=0)
    score_all(database, ml_settings)
    yield
    wipe(database)


def test_the_running_api_answers_as_its_document_says(app, database, users, scored_school):
    with database.begin() as s:
        token = create_token(s, email=users["teacher"].email, actor="test").secret
        own = s.execute(text("SELECT min(student_id) FROM student_summary WHERE class_id = :c"),
                        {"c": users["teacher"].class_ids[0]}).scalar_one()
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue  # POST /ingest would load generated files: tested directly in test_api_ingest_cache.py
        checked.append(operation.path)

        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case) -> None:  # noqa: ANN001
            if case.path_parameters and "student_id" in case.path_parameters and case.path_parameters["student_id"] % 2:
                case.path_parameters["student_id"] = own  # half the look-ups hit a student in scope
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        call()
    assert {"/api/v1/kpis", "/api/v1/at-risk", "/api/v1/students/{student_id}/risk/history"} <= set(checked)
