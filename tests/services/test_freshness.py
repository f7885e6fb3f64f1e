"""The freshness banner's numbers: the latest data date and scoring run, stale after STALE_AFTER_DAYS."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from core.settings import Settings, SettingsError
from services.freshness import data_freshness

TODAY = dt.date(2026, 11, 30)


def _scoring_run(session, on: dt.date) -> None:
    model = session.execute(text(
        "INSERT INTO model_versions (version, model_type, data_hash, code_version, threshold, artifact_path) "
        "VALUES (:v, 'xgboost', 'h', 'c', 0.5, '/x') RETURNING id"), {"v": f"fresh-{on}"}).scalar_one()
    session.execute(text("INSERT INTO scoring_runs (model_version_id, as_of, high, low, n_scored, created_at) "
                         "VALUES (:m, :d, 0.6, 0.3, 1, :d)"), {"m": model, "d": on})


def test_nothing_loaded_is_stale_and_says_so(session) -> None:
    session.execute(text("DELETE FROM summary_calendar"))
    session.execute(text("DELETE FROM scoring_runs"))
    fresh = data_freshness(session=session, stale_after_days=14, today=TODAY)
    assert fresh.latest_data is None and fresh.stale
    assert fresh.message == "No data loaded yet · risk not scored yet."


def test_recent_data_is_fresh_and_old_data_is_a_warning(session) -> None:
    session.execute(text("DELETE FROM summary_calendar"))
    session.execute(text("DELETE FROM scoring_runs"))
    session.execute(text("INSERT INTO summary_calendar (date) VALUES ('2026-11-02'), ('2026-11-20')"))
    _scoring_run(session, dt.date(2026, 11, 25))
    fresh = data_freshness(session=session, stale_after_days=14, today=TODAY)
    assert (fresh.latest_data, fresh.latest_scoring) == (dt.date(2026, 11, 20), dt.date(2026, 11, 25))
    assert not fresh.stale and fresh.message == "Data up to 20 Nov 2026 · risk scored on 25 Nov 2026."
    strict = data_freshness(session=session, stale_after_days=7, today=TODAY)
    assert strict.data_stale and not strict.scoring_stale and strict.stale
    assert strict.message.endswith("(the data is over 7 days old).")
    both = data_freshness(session=session, stale_after_days=3, today=TODAY)
    assert both.message.endswith("(the data and the risk scores are over 3 days old).")


def test_the_limit_is_a_setting() -> None:
    assert Settings.from_env({}).stale_after_days == 14
    assert Settings.from_env({"STALE_AFTER_DAYS": "30"}).stale_after_days == 30
    for bad in ("0", "two weeks"):
        with pytest.raises(SettingsError, match="STALE_AFTER_DAYS"):
            Settings.from_env({"STALE_AFTER_DAYS": bad})
