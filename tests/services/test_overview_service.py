"""Overview services against PostgreSQL: numbers equal pandas/scipy on the same rows, in every scope."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from analytics_seed import teacher_of
from scipy import stats
from sqlalchemy import insert, text

from db.models import ModelVersion, Prediction, ScoringRun
from ml.registry import NO_ACTIVE_MODEL, NOT_SCORED_YET
from services.filters import filter_options
from services.overview import kpi_summary, score_distribution, weekly_trends
from services.scope import Filters


def _frame(session, sql: str) -> pd.DataFrame:
    result = session.execute(text(sql))
    return pd.DataFrame(result.all(), columns=list(result.keys()))


@pytest.fixture()
def summary(ws) -> pd.DataFrame:
    """student_summary joined to classes, pulled in pandas."""
    return _frame(ws, "SELECT s.*, c.name AS class_name FROM student_summary s JOIN classes c ON c.id = s.class_id")


def _check_kpis(k, frame: pd.DataFrame) -> None:
    assert k.n_students == len(frame)
    assert k.mean_score == pytest.approx(frame["latest_score"].mean())
    assert k.median_score == pytest.approx(frame["latest_score"].median())
    assert k.pass_rate == pytest.approx((frame["latest_score"] >= 60).mean())
    assert k.mean_attendance == pytest.approx(frame["attendance_mean"].mean())
    assert k.chronic_share == pytest.approx(frame["chronically_absent"].astype(float).mean())


def test_kpis_for_admin_match_pandas(ws, world, admin, summary) -> None:
    k = kpi_summary(session=ws, viewer=admin, filters=Filters())
    assert k.n_students == world.n_students
    _check_kpis(k, summary)
    assert k.at_risk_share is None


def test_kpis_with_class_level_and_student_filters(ws, world, admin, summary) -> None:
    north = world.schools["North School"]
    _check_kpis(kpi_summary(session=ws, viewer=admin, filters=Filters(school_id=north, grade_level=9)),
                summary[(summary.school_id == north) & (summary.grade_level == 9)])
    f = Filters(study_band="3-6", min_attendance=0.88)
    sub = summary[(summary.study_bin == "3-6") & (summary.attendance_mean >= 0.88)]
    assert 0 < len(sub) < len(summary)
    _check_kpis(kpi_summary(session=ws, viewer=admin, filters=f), sub)


def test_teacher_sees_only_their_classes(ws, world, summary) -> None:
    mine = world.classes[("North School", "9B")]
    other = world.classes[("South School", "9A")]
    teacher = teacher_of(mine)
    _check_kpis(kpi_summary(session=ws, viewer=teacher, filters=Filters()), summary[summary.class_id == mine])
    for f in (Filters(class_id=other), Filters(school_id=world.schools["South School"])):
        k = kpi_summary(session=ws, viewer=teacher, filters=f)
        assert k.empty and k.mean_score is None
        assert score_distribution(session=ws, viewer=teacher, filters=f).empty
        assert weekly_trends(session=ws, viewer=teacher, filters=f).empty
    nobody = teacher_of()
    assert kpi_summary(session=ws, viewer=nobody, filters=Filters()).empty


def test_date_range_reads_events(ws, world, admin) -> None:
    lo, hi = world.weeks[2], world.weeks[6]
    ev = _frame(ws, f"""
        SELECT a.student_id, avg(a.rate) att, (array_agg(s.score ORDER BY s.date DESC))[1] latest
        FROM attendance a JOIN scores s ON s.student_id = a.student_id AND s.date = a.date
        WHERE a.date BETWEEN '{lo}' AND '{hi}' GROUP BY a.student_id""")
    k = kpi_summary(session=ws, viewer=admin, filters=Filters(date_from=lo, date_to=hi))
    assert k.n_students == len(ev) == world.n_students
    assert k.mean_score == pytest.approx(ev["latest"].mean())
    assert k.mean_attendance == pytest.approx(ev["att"].mean())
    assert k.chronic_share == pytest.approx((ev["att"] < 0.9).mean())
    after = kpi_summary(session=ws, viewer=admin, filters=Filters(date_from=world.weeks[-1] + dt.timedelta(days=1)))
    assert after.empty


def test_distribution_matches_numpy_and_scipy(ws, admin, summary) -> None:
    d = score_distribution(session=ws, viewer=admin, filters=Filters())
    scores = summary["latest_score"].to_numpy(dtype=float)
    counts, _ = np.histogram(scores, bins=np.arange(0, 105, 5))
    assert d.bins["count"].tolist() == counts.tolist()
    assert d.n == len(scores)
    assert d.skewness == pytest.approx(stats.skew(scores), rel=1e-9)
    assert d.sd == pytest.approx(np.std(scores, ddof=1))
    assert "skew" in d.note


def test_trends_from_summary_and_from_events_agree_with_pandas(ws, world, admin, summary) -> None:
    ev = _frame(ws, "SELECT a.student_id, a.date, a.rate, s.score FROM attendance a "
                    "JOIN scores s ON s.student_id = a.student_id AND s.date = a.date")
    cls = world.classes[("North School", "9A")]
    t = weekly_trends(session=ws, viewer=admin, filters=Filters(class_id=cls))
    assert t.source == "class_week_summary" and len(t.frame) == len(world.weeks)
    want = ev[ev.student_id.isin(summary[summary.class_id == cls].student_id)].groupby("date")[["rate", "score"]].mean()
    assert np.allclose(t.frame["attendance"], want["rate"]) and np.allclose(t.frame["score"], want["score"])
    band = weekly_trends(session=ws, viewer=admin, filters=Filters(study_band="6+"))
    assert band.source == "events"
    ids = summary[summary.study_bin == "6+"].student_id
    want = ev[ev.student_id.isin(ids)].groupby("date")[["rate", "score"]].mean()
    assert np.allclose(band.frame["attendance"], want["rate"]) and np.allclose(band.frame["score"], want["score"])


def _plan_off(ws, *kinds: str) -> None:
    for kind in kinds:
        ws.execute(text(f"SET LOCAL enable_{kind} = off"))


def test_trends_per_student_read_only_the_key_and_equal_the_whole_table_plan(ws, admin) -> None:
    """Study band + attendance trends: an index-only scan of the key (migration 0016) can answer them, and the
    answer is the one the former plan (the whole table hashed) gives, to the last float bits' order of summation."""
    from sqlalchemy.dialects import postgresql

    from services.queries import load_rules, student_metrics, student_week_means

    f = Filters(study_band="3-6", min_attendance=0.88)
    stmt = student_week_means(student_metrics(admin, f, load_rules(ws)).subquery("m"), f)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    ws.execute(text("SAVEPOINT plans"))
    _plan_off(ws, "seqscan", "bitmapscan")
    plan = "\n".join(r[0] for r in ws.execute(text("EXPLAIN " + sql)))
    assert "Index Only Scan using pk_student_week_summary on student_week_summary" in plan
    by_key = weekly_trends(session=ws, viewer=admin, filters=f).frame
    ws.execute(text("ROLLBACK TO SAVEPOINT plans"))
    _plan_off(ws, "indexscan", "indexonlyscan", "bitmapscan")
    whole = weekly_trends(session=ws, viewer=admin, filters=f).frame
    assert len(by_key) > 0 and list(by_key["week"]) == list(whole["week"])
    for col in ("attendance", "score"):
        assert by_key[col].tolist() == pytest.approx(whole[col].tolist(), rel=1e-12, abs=0)


def _run(ws, model_id: int, as_of: dt.date) -> int:
    values = {"model_version_id": model_id, "as_of": as_of, "high": 0.5, "low": 0.25, "n_scored": 0}
    return ws.scalar(insert(ScoringRun).values(**values).returning(ScoringRun.id))


def test_share_at_risk_uses_the_active_models_latest_run(ws, admin, summary) -> None:
    mk = {"model_type": "xgboost", "data_hash": "x", "code_version": "t", "threshold": 0.5, "artifact_path": "/m"}
    old = ws.scalar(insert(ModelVersion).values(version="old", is_active=False, **mk).returning(ModelVersion.id))
    new = ws.scalar(insert(ModelVersion).values(version="new", is_active=True, **mk).returning(ModelVersion.id))
    ids = summary.student_id.tolist()
    old_run = _run(ws, old, dt.date(2025, 11, 1))
    ws.execute(insert(Prediction), [{"student_id": s, "model_version_id": old, "scoring_run_id": old_run,
                                     "as_of": dt.date(2025, 11, 1), "probability": 0.9, "tier": "High"} for s in ids])
    try:
        # Trained but not scored: no share, and the sentence every risk surface shows.
        unscored = kpi_summary(session=ws, viewer=admin, filters=Filters())
        assert (unscored.at_risk_share, unscored.n_scored, unscored.risk_note) == (None, 0, NOT_SCORED_YET)
        _run(ws, new, dt.date(2025, 11, 15))  # an earlier run whose predictions the latest one replaced
        latest = _run(ws, new, dt.date(2025, 12, 1))
        rows = [{"student_id": s, "model_version_id": new, "scoring_run_id": latest, "as_of": dt.date(2025, 12, 1),
                 "probability": 0.5, "tier": "High" if i % 4 == 0 else "Low"} for i, s in enumerate(ids)]
        ws.execute(insert(Prediction), rows)
        k = kpi_summary(session=ws, viewer=admin, filters=Filters())
        assert k.n_scored == len(ids) and k.risk_note is None
        assert k.at_risk_share == pytest.approx(sum(1 for i in range(len(ids)) if i % 4 == 0) / len(ids))
        ws.execute(text("UPDATE model_versions SET is_active = false"))
        none = kpi_summary(session=ws, viewer=admin, filters=Filters())
        assert (none.at_risk_share, none.risk_note) == (None, NO_ACTIVE_MODEL)
    finally:
        ws.execute(text("DELETE FROM predictions"))
        ws.execute(text("DELETE FROM model_versions"))


def test_filter_options_are_scoped(ws, world, admin) -> None:
    everything = filter_options(session=ws, viewer=admin, filters=Filters())
    assert [o.label for o in everything.schools] == ["North School", "South School"]
    assert [o.value for o in everything.grades] == [9, 10]
    assert len(everything.classes) == 4
    assert everything.first_week == world.weeks[0] and everything.last_week == world.weeks[-1]
    north = filter_options(session=ws, viewer=admin, filters=Filters(school_id=world.schools["North School"], grade_level=9))
    assert sorted(o.label for o in north.classes) == ["9A", "9B"]
    teacher = teacher_of(world.classes[("South School", "9A")])
    mine = filter_options(session=ws, viewer=teacher, filters=Filters())
    assert [o.label for o in mine.schools] == ["South School"]
    assert [o.value for o in mine.classes] == [world.classes[("South School", "9A")]]
    assert filter_options(session=ws, viewer=teacher_of(), filters=Filters()).schools == ()
