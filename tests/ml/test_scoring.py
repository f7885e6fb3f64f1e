"""Scoring and the risk services: every current student scored, reasons in words, the viewer's scope."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from core.errors import InvalidInput, NotFound
from ml.explain import probability_from_margin
from ml.registry import load_model
from ml.score import TierCutoffs, assign_tiers
from ml.uncertainty import risk_model_of
from services.at_risk import explain_student, risk_table, student_risk
from services.scope import Filters, Viewer
from services.students import require_in_scope

ADMIN = Viewer(user_id=1, email="admin@example.org", role="admin")


def _teacher(class_id: int) -> Viewer:
    return Viewer(user_id=2, email="t@example.org", role="teacher", class_ids=frozenset({class_id}))


def _student_in(session, class_id: int) -> int:
    return session.execute(text("SELECT student_id FROM enrollments WHERE class_id = :c ORDER BY student_id LIMIT 1"),
                           {"c": class_id}).scalar()


def _current_students(session) -> int:
    return session.execute(text("SELECT count(DISTINCT student_id) FROM enrollments "
                                "WHERE school_year = (SELECT max(school_year) FROM classes)")).scalar()


def test_every_current_student_has_a_prediction(scored, session) -> None:
    n_students = _current_students(session)
    rows = session.execute(text(  # the latest run's rows (every run is kept)
        "SELECT p.tier, p.probability, p.reasons FROM predictions p WHERE p.scoring_run_id = (SELECT max(r.id) "
        "FROM scoring_runs r JOIN model_versions m ON m.id = r.model_version_id WHERE m.is_active)")).all()
    assert scored.n_scored == n_students == len(rows)
    assert {r.tier for r in rows} <= {"High", "Moderate", "Low"} and len({r.tier for r in rows}) >= 2
    assert all(0 <= r.probability <= 1 and len(r.reasons) <= 3 for r in rows)
    assert sum(len(r.reasons) == 3 for r in rows) > 0.8 * len(rows)  # only contributions that matter are listed
    assert sum(scored.tiers.values()) == n_students
    assert all(r.reasons[0]["text"].endswith(("raises risk", "lowers risk")) for r in rows if r.reasons)


def test_stored_reasons_never_call_a_class_median_value_a_risk(scored, session) -> None:
    from ml.reasons import FACTORS, at_class_median

    by_name = {f.name: f for f in FACTORS}
    reasons = [r for (rs,) in session.execute(text("SELECT reasons FROM predictions")).all() for r in rs]
    assert len(reasons) > 100
    for r in reasons:
        assert not (r["effect"] == "raises" and at_class_median(by_name[r["factor"]], r["value"], r["class_median"])), r
        assert "log-odds" not in r["text"] and abs(r["contribution"]) >= 0.05


def test_tiers_follow_the_cutoffs() -> None:
    high, low = TierCutoffs().resolve(0.4)
    assert (high, low) == (0.4, 0.2)
    assert list(assign_tiers([0.9, 0.4, 0.3, 0.1], high, low)) == ["High", "High", "Moderate", "Low"]
    with pytest.raises(Exception, match="cut-offs"):
        TierCutoffs(high=0.2, low=0.5).resolve(0.4)


def test_reason_reads_like_a_sentence(scored, session) -> None:
    risk = risk_table(session=session, viewer=ADMIN, tier="High", limit=1).items[0]
    assert any("class median" in t for t in risk.reasons), risk.reasons


def test_teacher_cannot_explain_a_student_outside_their_classes(scored, session, class_ids) -> None:
    mine, other = class_ids[0], class_ids[1]
    teacher = _teacher(mine)
    outsider = _student_in(session, other)
    with pytest.raises(NotFound):
        explain_student(session=session, viewer=teacher, student_id=outsider)
    with pytest.raises(NotFound):
        require_in_scope(session, teacher, outsider)
    own = _student_in(session, mine)
    explanation = explain_student(session=session, viewer=teacher, student_id=own)
    assert explanation.student_id == own
    stored = student_risk(session, require_in_scope(session, teacher, own), explain=False).row
    assert stored.probability == explanation.probability and stored.tier == explanation.tier
    # The contributions explain the stored score: their margin gives back the model's raw probability, which the
    # saved calibrator turns into the stored (calibrated) one.
    raw = float(probability_from_margin(explanation.margin, explanation.space))
    model = load_model(session)
    live = float(risk_model_of(model).calibrator.predict(np.array([raw]))[0])
    assert abs(live - stored.probability) < 1e-5


def test_explanation_is_exact(scored, session, class_ids) -> None:
    """Exact SHAP: the contributions add up to the margin (its speed is measured by bench/ml_bench.py, not here)."""
    student = _student_in(session, class_ids[2])
    e = explain_student(session=session, viewer=ADMIN, student_id=student)
    assert abs(sum(e.contributions.values()) + e.base_value - e.margin) < 1e-6
    assert len(e.reasons) >= 5 and e.values["class_att_rate"] is not None


def test_at_risk_list_is_scoped_filtered_and_paged(scored, session, class_ids) -> None:
    everyone = risk_table(session=session, viewer=ADMIN, limit=500)
    assert everyone.total == scored.n_scored
    probabilities = [r.probability for r in everyone.items]
    assert probabilities == sorted(probabilities, reverse=True)
    mine = risk_table(session=session, viewer=_teacher(class_ids[0]), limit=500)
    assert 0 < mine.total < everyone.total and {r.class_id for r in mine.items} == {class_ids[0]}
    high = risk_table(session=session, viewer=ADMIN, tier="High", limit=500)
    assert high.total == scored.tiers["High"] and all(r.tier == "High" for r in high.items)
    grade = risk_table(session=session, viewer=ADMIN, filters=Filters(grade_level=9), limit=5, offset=5)
    assert len(grade.items) == 5 and all(r.grade_level == 9 for r in grade.items)
    with pytest.raises(InvalidInput):
        risk_table(session=session, viewer=ADMIN, tier="Severe")
    nobody = Viewer(user_id=3, email="n@example.org", role="teacher")
    assert risk_table(session=session, viewer=nobody).total == 0


def _plans_off(session, *kinds: str) -> None:
    for kind in kinds:
        session.execute(text(f"SET LOCAL enable_{kind} = off"))


def test_first_page_of_the_list_reads_the_run_in_rank_order(scored, session) -> None:
    """The default page (highest probability first) can come from the head of ``ix_predictions_run_rank`` (0017),
    with no sort, and it is the page the former plan (a sort of the whole run) gives."""
    from sqlalchemy import event

    seen: list[str] = []

    def keep(conn, cursor, statement, params, context, many) -> None:  # noqa: ANN001
        if "ORDER BY predictions.probability DESC" in statement and "LIMIT" in statement:
            seen.append(cursor.mogrify(statement, params).decode())

    session.execute(text("SAVEPOINT plans"))
    _plans_off(session, "seqscan", "bitmapscan", "sort")
    event.listen(session.connection(), "before_cursor_execute", keep)
    try:
        by_index = risk_table(session=session, viewer=ADMIN, limit=20)
    finally:
        event.remove(session.connection(), "before_cursor_execute", keep)
    plan = "\n".join(r[0] for r in session.execute(text("EXPLAIN " + seen[0].replace("%", "%%"))))
    assert "ix_predictions_run_rank" in plan and "Sort" not in plan, plan
    session.execute(text("ROLLBACK TO SAVEPOINT plans"))
    _plans_off(session, "indexscan", "indexonlyscan", "bitmapscan")
    sorted_run = risk_table(session=session, viewer=ADMIN, limit=20)
    assert [r.student_id for r in by_index.items] == [r.student_id for r in sorted_run.items]
    assert by_index.tier_counts == sorted_run.tier_counts and by_index.total == sorted_run.total > 20
