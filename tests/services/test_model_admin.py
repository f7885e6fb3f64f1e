"""The model page's service: the stored training report beside the baselines, group rates, feedback, activation,
and the retrain-and-rescore job on a real trained model."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.errors import Forbidden
from core.settings import Settings
from db.database import Database
from db.models import AuditLog, ModelVersion
from etl.generate import write_school
from etl.pipeline import ingest_file
from services import model_admin, uploads
from services.scope import Viewer
from tests.conftest import truncate_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboard"))
from webtools import make_user  # noqa: E402

GROUPS = {"rows": [{"group": "F", "n": 40, "positives": 10, "fpr": 0.2, "fnr": 0.1},
                   {"group": "M", "n": 38, "positives": 12, "fpr": 0.05, "fnr": 0.3},
                   {"group": "X", "n": 3, "positives": 0, "fpr": 0.0, "fnr": None}],
          "fpr_gap": 0.15, "fnr_gap": 0.2}
METRICS = {
    "model": {"roc_auc": 0.84, "pr_auc": 0.61, "precision": 0.5, "recall": 0.7, "f1": 0.58, "brier": 0.12,
              "calibration": [{"bin": "0.0-0.1", "n": 50, "mean_predicted": 0.05, "observed": 0.04},
                              {"bin": "0.9-1.0", "n": 5, "mean_predicted": 0.93, "observed": 1.0}],
              "groups": {"gender": GROUPS}},
    "rule": {"roc_auc": 0.7, "pr_auc": 0.4, "precision": 0.4, "recall": 0.5, "f1": 0.44, "brier": 0.2},
    "logreg": {"roc_auc": 0.8, "pr_auc": 0.55, "precision": 0.45, "recall": 0.66, "f1": 0.53, "brier": 0.13},
    "holdout": {"school_years": ["2024-2025"], "students": 81},
}


def _version(session, version: str, metrics: dict, active: bool) -> None:  # noqa: ANN001
    session.add(ModelVersion(version=version, model_type="xgboost", data_hash="h", code_version="c", params={},
                             metrics=metrics, features=[], threshold=0.4, artifact_path="/nowhere", is_active=active))
    session.flush()


@pytest.fixture()
def admin() -> Viewer:
    return Viewer(1, "admin@test.example", "admin")


def test_the_page_shows_the_stored_report_beside_the_baselines(session, admin: Viewer) -> None:
    session.execute(text("UPDATE model_versions SET is_active = false"))
    _version(session, "xgboost-test-old", {}, False)
    _version(session, "xgboost-test-new", METRICS, True)
    page = model_admin.model_page(session, viewer=admin)
    assert page.active is not None and page.active.version == "xgboost-test-new"
    first = page.comparison[0]
    assert first == {"metric": "Ranking (ROC AUC)", "model": "0.84", "rule": "0.70", "logreg": "0.80"}
    assert page.calibration[1] == {"predicted": 0.93, "observed": 1.0, "n": 5}
    assert [g["group"] for g in page.groups] == ["F", "M", "X (too few to compare)"]
    assert page.groups[0]["false_positive"] == "20 %" and page.groups[2]["false_positive"] == "under 1 %"
    assert page.groups[2]["false_negative"] == "n/a"
    assert "Gender: the false-positive rates differ by 15 points between groups." in page.gaps
    assert "held-out school year" in page.group_source and "2024-2025" in page.holdout
    assert page.lead_time is None
    assert {"xgboost-test-old", "xgboost-test-new"} <= {v.version for v in page.versions}
    text_shown = repr(page)
    assert "100.0 %" not in text_shown and "0.0 %" not in text_shown and "log-odds" not in text_shown


def test_an_old_report_without_groups_says_so(session, admin: Viewer) -> None:
    session.execute(text("UPDATE model_versions SET is_active = false"))
    _version(session, "xgboost-test-bare", {"model": {"roc_auc": 0.8}, "lead_time": {"median_weeks": 6}}, True)
    page = model_admin.model_page(session, viewer=admin)
    assert page.groups == [] and "no per-group rates" in page.group_source
    assert page.lead_time is not None and "6 weeks" in page.lead_time
    assert page.feedback == []  # none given yet (counts per version, tier and verdict: tests/services/test_workflow_services.py)


OLDER_REPORTS = {
    "top-level groups, no held-out label": {"groups": {"gender": {"rows": [
        {"group": "F", "n": 40, "fpr": 0.1, "fnr": 0.3}, {"group": "M", "n": 38, "fpr": 0.2, "fnr": 0.25}]}}},
    "a bare list of rows": {"model": {"groups": {"gender": [
        {"group": "F", "n": 40, "fpr": 0.1, "fnr": 0.3}, {"group": "M", "n": 38, "fpr": 0.2, "fnr": 0.25}]}}},
    "rates by group name": {"model": {"groups": {"gender": {
        "F": {"n": 40, "fpr": 0.1, "fnr": 0.3}, "M": {"n": 38, "fpr": 0.2, "fnr": 0.25}}}}},
}


@pytest.mark.parametrize("shape", list(OLDER_REPORTS))
def test_an_older_report_shows_what_it_stored(session, admin: Viewer, shape: str) -> None:
    session.execute(text("UPDATE model_versions SET is_active = false"))
    _version(session, f"xgboost-test-older-{len(shape)}", OLDER_REPORTS[shape], True)
    page = model_admin.model_page(session, viewer=admin)
    assert [(g["attribute"], g["group"], g["students"], g["false_positive"]) for g in page.groups] == [
        ("Gender", "F", "40", "10 %"), ("Gender", "M", "38", "20 %")], shape
    assert "Gender: the false-positive rates differ by 10 points between groups." in page.gaps
    assert "It has no rates by grade level: retrain to compute them." in page.group_source
    assert "does not say which rows were held out" in page.group_source


def test_rows_without_rates_or_sizes_are_shown_as_far_as_they_go(session, admin: Viewer) -> None:
    session.execute(text("UPDATE model_versions SET is_active = false"))
    rows = [{"group": "9", "fpr": 0.1, "fnr": None}, {"group": "10", "fpr": 0.4}, {"group": "11"}]
    _version(session, "xgboost-test-unsized", {"model": {"groups": {"grade_level": rows, "gender": "junk"}},
                                               "holdout": {"school_years": ["2023-2024"]}}, True)
    page = model_admin.model_page(session, viewer=admin)
    assert [(g["group"], g["students"], g["false_negative"]) for g in page.groups] == [("9", "n/a", "n/a"),
                                                                                       ("10", "n/a", "n/a")]
    assert page.gaps == []  # groups of unknown size are not compared
    assert page.group_source.startswith("Computed on the held-out school year") and "by gender" in page.group_source


@pytest.mark.parametrize("role", ["teacher", "staff"])
def test_non_admins_are_refused(session, role: str) -> None:
    viewer = Viewer(5, "x@test.example", role, frozenset({1}))
    with pytest.raises(Forbidden):
        model_admin.model_page(session, viewer=viewer)
    with pytest.raises(Forbidden):
        model_admin.activate(session, viewer=viewer, version="anything")


@pytest.fixture()
def school(database: Database, tmp_path: Path) -> Iterator[Path]:
    truncate_data(database, ("model_versions",))
    report = ingest_file(database, write_school(tmp_path / "school.csv", 120, seed=3, years=2), force=True)
    assert report.status == "succeeded", report.message
    yield tmp_path
    truncate_data(database, ("model_versions",))


def test_retrain_and_rescore_as_a_job_then_activate_the_previous_version(database: Database, settings: Settings,
                                                                          school: Path) -> None:
    user = make_user(database, "model-admin@test.example", "admin")
    admin = Viewer(user.user_id, user.email, "admin")
    home = settings.with_(home=school / "home")
    folder = home.uploads_dir
    steps: list[tuple[int, str]] = []
    for _ in range(2):
        ticket = uploads.issue_job_ticket(viewer=admin, folder=folder)
        said = model_admin.retrain_and_rescore(database, home, folder=folder, token=ticket.token,
                                               progress=lambda p, m: steps.append((p, m)))
        assert said.startswith("Trained and activated") and "rescored" in said
    assert steps[-1] == (100, "Done") and steps[0][0] < steps[1][0]
    with database.begin() as s:
        versions = [v.version for v in model_admin.model_page(s, viewer=admin).versions]
        page = model_admin.model_page(s, viewer=admin)
        assert page.active is not None and page.active.version == versions[0]
        assert [r["metric"] for r in page.comparison][0] == "Ranking (ROC AUC)"
        assert page.groups and page.calibration and page.comparison[0]["logreg"] != "n/a"
        assert s.execute(text("SELECT count(*) FROM predictions")).scalar() > 0
    with database.begin() as s:
        model_admin.activate(s, viewer=admin, version=versions[1], address="10.0.0.1")
    with database.begin() as s:
        assert model_admin.model_page(s, viewer=admin).active.version == versions[1]
        actions = s.execute(select(AuditLog.action).where(AuditLog.user_id == admin.user_id)).scalars().all()
    assert actions.count("model.retrain") == 2 and actions.count("model.activate") == 1
