"""Risk with its uncertainty, kept over time: DEWS tiers from the stored intervals, every run kept, the change."""

from __future__ import annotations

import datetime as dt
import math
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


def _half_up(probability: float) -> int:
    return math.floor(probability * 100 + 0.5)


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
        points = _half_up(new[row.student_id][0]) - _half_up(old[row.student_id][0])  # whole points, as shown
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


def test_the_export_says_the_risk_in_the_screens_words_and_names_the_model_by_its_training_day(scored, session) -> None:
    import csv
    import io

    from services.at_risk import BOM, export_risk_csv, run_words

    table = risk_table(session=session, viewer=ADMIN, limit=500)
    export = export_risk_csv(session=session, viewer=ADMIN)
    rows = {int(r["student_id"]): r for r in csv.DictReader(io.StringIO(export.text.removeprefix(BOM)))}
    assert len(rows) == table.total == export.rows
    for row in table.items:
        line = rows[row.student_id]
        assert line["risk"] == row.words and "%" in line["risk"]
        assert float(line["risk_probability"]) == round(row.probability, 4)
        assert float(line["risk_low"]) <= float(line["risk_probability"]) <= float(line["risk_high"])
    trained = session.execute(text("SELECT created_at::date FROM model_versions WHERE is_active")).scalar_one()
    assert {r["model_trained_on"] for r in rows.values()} == {trained.isoformat()}
    assert "model_version" not in next(iter(rows.values()))
    assert table.run.model_version not in export.text  # no raw model id anywhere in the file

    words = run_words(table.run)
    assert words.startswith(f"scored on {table.run.as_of.day} {table.run.as_of:%B %Y} by the model trained on ")
    assert table.run.model_version not in words


def test_run_words_give_the_training_year_only_when_it_differs() -> None:
    from services.at_risk import ScoringRun, run_words

    def run(trained: dt.date | None) -> ScoringRun:
        return ScoringRun(id=1, model_version_id=1, model_version="xgb-20260503-abcdef", as_of=dt.date(2026, 6, 1),
                          high=0.5, low=0.5, n_scored=1, created_at=dt.datetime(2026, 6, 1), model_trained=trained)

    assert run_words(run(dt.date(2026, 5, 3))) == "scored on 1 June 2026 by the model trained on 3 May"
    assert run_words(run(dt.date(2025, 9, 14))) == "scored on 1 June 2026 by the model trained on 14 September 2025"
    assert run_words(run(None)) == "scored on 1 June 2026"


def test_the_history_says_when_a_previous_models_runs_are_left_out(scored, session) -> None:
    student = session.execute(text("SELECT student_id FROM predictions WHERE scoring_run_id = :r LIMIT 1"),
                              {"r": scored.run_id}).scalar_one()
    checked = require_in_scope(session, ADMIN, student)
    alone = risk_history(session, checked)
    assert alone.other_models == 0 and alone.caption is None
    old = session.execute(text(
        "INSERT INTO model_versions (version, model_type, data_hash, code_version, threshold, artifact_path) "
        "VALUES ('old-model', 'xgboost', 'x', 'x', 0.4, '/nowhere') RETURNING id")).scalar_one()
    run = session.execute(text("INSERT INTO scoring_runs (model_version_id, as_of, high, low, n_scored) "
                               "VALUES (:m, :d, 0.4, 0.4, 1) RETURNING id"), {"m": old, "d": AS_OF}).scalar_one()
    session.execute(text("INSERT INTO predictions (scoring_run_id, student_id, model_version_id, as_of, probability, "
                         "low, high, tier) VALUES (:r, :s, :m, :d, 0.5, 0.5, 0.5, 'High')"),
                    {"r": run, "s": student, "m": old, "d": AS_OF})
    history = risk_history(session, checked)
    assert [p.run_id for p in history.points] == [p.run_id for p in alone.points]  # still the active model's only
    assert history.other_models == 1
    assert history.caption is not None and "1 earlier run by a previous model" in history.caption


def test_watch_scores_after_each_loaded_file(trained, school, ml_settings, session, monkeypatch, tmp_path) -> None:
    import etl.watch
    from etl.watch import DropResult
    from studentperf.cli.watching import run_watch

    loaded = [DropResult(f"f{i}.csv", "succeeded", "loaded", report=SimpleNamespace(status="succeeded"))
              for i in range(2)]
    failed = DropResult("bad.csv", "failed", "refused")

    def fake_watch(database, folder, *, on_result, **_kwargs):  # noqa: ANN001, ANN003, ANN202
        for result in (loaded[0], failed, loaded[1]):
            on_result(result)
        return {"failed": 0, "retry": 0}

    monkeypatch.setattr(etl.watch, "watch", fake_watch)
    runs = "SELECT count(*) FROM scoring_runs"
    before = session.execute(text(runs)).scalar()
    audited: list[object] = []
    run_watch(school, tmp_path, {}, once=True, interval=0.01, as_json=False,
              audit=lambda _db, reports: audited.extend(reports), settings=ml_settings.with_(score_after_ingest=False))
    assert session.execute(text(runs)).scalar() == before and len(audited) == 2
    run_watch(school, tmp_path, {}, once=True, interval=0.01, as_json=False,
              audit=lambda _db, reports: audited.extend(reports), settings=ml_settings)
    assert session.execute(text(runs)).scalar() == before + 2  # one run per loaded file, none for the refused one
