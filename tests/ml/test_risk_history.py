"""Risk with its uncertainty, kept over time: DEWS tiers from the stored intervals, every run kept, the change."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
from sqlalchemy import text

from ml.score import score_all
from ml.uncertainty import tier_from_interval
from services.at_risk import ROSE_BY, risk_history, risk_table
from services.scope import Viewer
from services.students import require_in_scope
from tests.ml.conftest import AS_OF

ADMIN = Viewer(user_id=1, email="admin@example.org", role="admin")


def _run_rows(session, run_id: int) -> dict[int, tuple[float, float, float, str]]:
    rows = session.execute(text("SELECT student_id, probability, low, high, tier FROM predictions "
                                "WHERE scoring_run_id = :r"), {"r": run_id}).all()
    return {r.student_id: (r.probability, r.low, r.high, r.tier) for r in rows}


def test_tier_from_interval_follows_dews() -> None:
    low = np.array([0.50, 0.30, 0.10, 0.40])
    high = np.array([0.70, 0.45, 0.39, 0.60])
    assert list(tier_from_interval(low, high, 0.4)) == ["High", "Moderate", "Low", "High"]


def test_stored_tiers_follow_the_stored_intervals(scored, session) -> None:
    run = session.execute(text("SELECT method, threshold, high, low FROM scoring_runs WHERE id = :r"),
                          {"r": scored.run_id}).one()
    assert run.method == "interval" and 0 < run.threshold < 1 and run.high == run.threshold
    rows = _run_rows(session, scored.run_id)
    assert len(rows) == scored.n_scored
    assert all(lo <= p <= hi for p, lo, hi, _ in rows.values())
    assert sum(hi - lo > 0.01 for _, lo, hi, _ in rows.values()) > len(rows) / 2  # real intervals, not points
    for p, lo, hi, tier in rows.values():
        expected = "High" if lo >= run.threshold else "Low" if hi < run.threshold else "Moderate"
        assert tier == expected, (p, lo, hi, tier, run.threshold)
    # The interval decides: some student's probability is above the threshold and still not High.
    assert any(p >= run.threshold and tier == "Moderate" for p, _, _, tier in rows.values())


def test_two_runs_give_two_points_and_the_change(scored, school, ml_settings, session) -> None:
    before = session.execute(text("SELECT count(*) FROM predictions")).scalar()
    earlier = score_all(school, ml_settings, AS_OF - dt.timedelta(days=35))
    latest = score_all(school, ml_settings)  # back to the latest date, so later tests see the usual run
    assert session.execute(text("SELECT count(*) FROM predictions")).scalar() == before + 2 * scored.n_scored
    old, new = _run_rows(session, earlier.run_id), _run_rows(session, latest.run_id)
    assert old.keys() == new.keys() and old != new

    table = risk_table(session=session, viewer=ADMIN, limit=500)
    assert table.run.id == latest.run_id and table.run.previous_id == earlier.run_id
    for row in table.items:
        assert row.previous == old[row.student_id][0] and row.previous_tier == old[row.student_id][3]
        points = round(new[row.student_id][0] * 100) - round(old[row.student_id][0] * 100)
        if row.tier == "High" and row.previous_tier != "High":
            assert row.change == "new"
        elif points > 0:
            assert row.change == f"▲ {points} pts"
        elif points < 0:
            assert row.change == f"▼ {-points} pts"

    rose = {i for i in new if new[i][0] - old[i][0] >= ROSE_BY}
    assert rose and len(rose) < len(new)
    shown = risk_table(session=session, viewer=ADMIN, limit=500, rose=True)
    assert shown.total == len(rose) == sum(shown.tier_counts.values())
    assert {r.student_id for r in shown.items} == rose

    student = table.items[0].student_id
    history = risk_history(session, require_in_scope(session, ADMIN, student))
    ids_ = [p.run_id for p in history.points]
    assert ids_[-2:] == [earlier.run_id, latest.run_id] and ids_ == sorted(ids_)
    assert [p.as_of for p in history.points[-2:]] == [earlier.as_of, latest.as_of]
    assert history.points[-1].probability == new[student][0] and history.points[-1].low == new[student][1]
    highs = [p.as_of for p in history.points if p.tier == "High"]
    assert history.first_high == (highs[0] if highs else None)


def test_ingest_scores_after_a_successful_load_unless_switched_off(trained, school, ml_settings, session,
                                                                    capsys) -> None:
    from core.settings import Settings
    from studentperf.cli.ml_cmds import score_after_ingest

    assert Settings.from_env({}).score_after_ingest is True
    assert Settings.from_env({"SCORE_AFTER_INGEST": "0"}).score_after_ingest is False
    runs = "SELECT count(*) FROM scoring_runs"
    before = session.execute(text(runs)).scalar()
    loaded, skipped = SimpleNamespace(status="succeeded"), SimpleNamespace(status="skipped")
    score_after_ingest(school, ml_settings.with_(score_after_ingest=False), [loaded])
    score_after_ingest(school, ml_settings, [skipped])
    assert session.execute(text(runs)).scalar() == before
    score_after_ingest(school, ml_settings, [skipped, loaded])
    assert session.execute(text(runs)).scalar() == before + 1
    assert "scored " in capsys.readouterr().out
