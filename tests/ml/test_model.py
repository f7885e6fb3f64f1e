"""Training, registry and explanations: past years only, honest comparison on a held-out year, calibration,
intervals, monotone directions, reproducible, round-trips, exact SHAP, refusals."""

from __future__ import annotations

import dataclasses
import json

import joblib
import numpy as np
import pytest
from sqlalchemy import select

from db.models import ModelVersion
from ml.errors import ModelMismatch, NotEnoughData
from ml.explain import contributions, probability_from_margin
from ml.features import SNAPSHOT_WEEKS, FeatureSpec, build_features, latest_data_date, training_rows
from ml.registry import data_hash, list_models, load_model, require_columns, save_model
from ml.train import fit_and_evaluate, holdout_split
from ml.uncertainty import RISK_KEY, predict_with_interval, tier_from_interval


@pytest.fixture(scope="module")
def frame(school, trained):
    """The training rows of the trained model (past years at the snapshot weeks)."""
    with school.begin() as s:
        return training_rows(s, 60.0)


def test_model_is_evaluated_on_the_latest_past_year_and_beats_the_rule(trained) -> None:
    m = trained.metrics
    assert m["training_years"] == ["2023-2024", "2024-2025"]
    assert m["holdout"]["school_years"] == ["2024-2025"] and m["holdout"]["weeks"] == list(SNAPSHOT_WEEKS)
    assert trained.beats_rule and m["model"]["roc_auc"] > m["rule"]["roc_auc"] + 0.05
    assert m["model"]["roc_auc"] > 0.8 and m["logreg"]["roc_auc"] is not None
    weeks = m["model"]["by_week"]
    assert list(weeks) == [str(w) for w in SNAPSHOT_WEEKS]
    assert weeks[str(SNAPSHOT_WEEKS[0])] < weeks["28"]  # later in the year the outcome is easier to see
    assert sum(m["model"]["confusion"].values()) == m["n_test"]
    assert {"fpr_gap", "fnr_gap", "rows"} <= set(m["model"]["groups"]["gender"])
    assert sum(r["n"] for r in m["model"]["calibration"]) == m["n_test"]
    summary = trained.summary()
    assert "beats the rule baseline" in summary and "held out: school year 2024-2025" in summary
    assert "ROC AUC by week" in summary and "expected calibration error" in summary
    assert "training rows from every class" in summary
    assert all(y["classes"] == y["classes_total"] for y in trained.metrics["training_classes"])


def test_held_out_year_is_calibrated(trained) -> None:
    m = trained.metrics
    assert m["calibration_method"]["method"] in ("isotonic", "platt")
    assert m["model"]["ece"] < 0.05, m["model"]["calibration"]
    observed = sum(r["n"] * r["observed"] for r in m["model"]["calibration"]) / m["n_test"]
    predicted = sum(r["n"] * r["mean_predicted"] for r in m["model"]["calibration"]) / m["n_test"]
    assert abs(observed - predicted) < 0.05


def test_one_past_year_holds_out_a_share_of_its_students(frame) -> None:
    one = frame[frame["school_year"] == "2024-2025"]
    fit_idx, test_idx, label = holdout_split(one)
    assert "only one past year" in label
    assert not set(one.index[fit_idx]) & set(one.index[test_idx])  # no student on both sides
    fit_idx, test_idx, label = holdout_split(frame)
    assert label == "school year 2024-2025" and set(frame.iloc[test_idx]["school_year"]) == {"2024-2025"}
    assert set(frame.iloc[fit_idx]["school_year"]) == {"2023-2024"}


def test_summary_warns_loudly_when_rule_wins(trained) -> None:
    worse = dataclasses.replace(trained, metrics={**trained.metrics, "beats_rule": False})
    assert "DOES NOT BEAT THE RULE BASELINE" in worse.summary()


def test_every_student_gets_an_interval_and_a_dews_tier(school, trained, session) -> None:
    model = load_model(session)
    features = build_features(session, latest_data_date(session))
    p, lo, hi = predict_with_interval(model, require_columns(model, features))
    assert ((0 <= lo) & (lo <= p) & (p <= hi) & (hi <= 1)).all()
    assert (hi > lo).mean() > 0.5 and (hi - lo).max() > 0.02  # the bootstrap members disagree somewhat
    tiers = tier_from_interval(lo, hi, model.threshold)
    assert set(tiers) == {"High", "Moderate", "Low"}
    assert (lo[tiers == "High"] >= model.threshold).all() and (hi[tiers == "Low"] < model.threshold).all()
    straddle = tiers == "Moderate"
    assert ((lo[straddle] < model.threshold) & (hi[straddle] >= model.threshold)).all()


def test_tier_from_interval() -> None:
    tiers = tier_from_interval([0.5, 0.2, 0.1, 0.3], [0.7, 0.4, 0.25, 0.3], 0.3)
    assert list(tiers) == ["High", "Moderate", "Low", "High"]


def test_more_attendance_study_or_grade_never_raises_risk(school, trained, session) -> None:
    model = load_model(session)
    x = require_columns(model, build_features(session, latest_data_date(session))).iloc[:200]
    for column in ("att_rate", "att_recent", "study_mean", "score_latest", "score_mean"):
        base = model.pipeline.predict_proba(x)[:, 1]
        better = x.assign(**{column: x[column] * 1.1 + (1 if column.startswith(("study", "score")) else 0.01)})
        assert (model.pipeline.predict_proba(better)[:, 1] <= base + 1e-9).all(), column


def test_same_seed_same_model(frame, trained, session) -> None:
    """Refitting with the registered model's seed on the same rows gives the same model, bit for bit."""
    spec = FeatureSpec()
    again = fit_and_evaluate(frame, "xgboost", spec, seed=0, members=2)
    registered = load_model(session, trained.version)
    x = frame[spec.columns]
    assert data_hash(frame[[*spec.columns, "at_risk"]]) == registered.info.data_hash  # the same rows, bit for bit
    assert again.params.items() <= registered.info.params.items()
    assert again.threshold == registered.threshold
    np.testing.assert_array_equal(again.pipeline.predict_proba(x), registered.pipeline.predict_proba(x))


def test_saved_pipeline_round_trips(school, frame, session, tmp_path) -> None:
    spec = FeatureSpec(include_demographics=True)
    evaluation = fit_and_evaluate(frame, "xgboost", spec, seed=1, members=2)
    info = save_model(session, tmp_path, pipeline=evaluation.pipeline, spec=spec, threshold=evaluation.threshold,
                      model_type="xgboost", as_of=frame["as_of"].max(), data_hash_="abc123",
                      params=evaluation.params, metrics={}, activate=False, extras={RISK_KEY: evaluation.risk})
    loaded = load_model(session, info.version)
    x = frame[spec.columns]
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(x), evaluation.pipeline.predict_proba(x))
    assert loaded.threshold == evaluation.threshold and loaded.columns == spec.columns
    assert info.version in [m.version for m in list_models(session)]
    p, lo, hi = predict_with_interval(loaded, x)
    np.testing.assert_allclose(p, evaluation.risk.calibrator.predict(evaluation.pipeline.predict_proba(x)[:, 1]))


def test_shap_contributions_plus_base_equal_margin(school, trained, session) -> None:
    model = load_model(session)
    features = build_features(session, latest_data_date(session))
    contrib = contributions(model, features)
    booster = model.pipeline.named_steps["model"]
    xt = model.pipeline.named_steps["prep"].transform(features[model.columns])
    margin = booster.predict(xt, output_margin=True)
    np.testing.assert_allclose(contrib.values.sum(axis=1) + contrib.base_value, margin, atol=1e-4)
    np.testing.assert_allclose(probability_from_margin(contrib.margin, contrib.space),
                               model.pipeline.predict_proba(features[model.columns])[:, 1], atol=1e-5)
    shared = model.pipeline.named_steps["model"].get_booster()
    before = json.loads(shared.save_config())["learner"]["generic_param"]["nthread"]
    threaded = contributions(model, features, threads=2)  # the batch reasons' threads: the same values
    np.testing.assert_allclose(threaded.values.to_numpy(), contrib.values.to_numpy(), atol=1e-6)
    assert json.loads(shared.save_config())["learner"]["generic_param"]["nthread"] == before  # shared model untouched


def test_logreg_contributions_are_exact_too(frame) -> None:
    spec = FeatureSpec()
    evaluation = fit_and_evaluate(frame, "logreg", spec, seed=0, members=0)
    from ml.registry import LoadedModel, ModelInfo

    info = ModelInfo(0, "t", None, "logreg", None, "", "", evaluation.threshold, False, "", features=spec.columns)
    model = LoadedModel(info=info, pipeline=evaluation.pipeline, spec=spec, threshold=evaluation.threshold)
    contrib = contributions(model, frame)
    np.testing.assert_allclose(probability_from_margin(contrib.margin, contrib.space),
                               evaluation.pipeline.predict_proba(frame[spec.columns])[:, 1], atol=1e-8)


def _clone_artifact(session, tmp_path, change) -> str:
    active = session.scalar(select(ModelVersion).where(ModelVersion.is_active))
    artifact = joblib.load(active.artifact_path)
    change(artifact)
    path = tmp_path / "changed.joblib"
    joblib.dump(artifact, path)
    row = ModelVersion(version="changed", model_type="xgboost", as_of=active.as_of, data_hash="x", code_version="x",
                       params={}, metrics={}, features=artifact["features"], threshold=0.5, artifact_path=str(path))
    session.add(row)
    session.flush()
    return row.version


def test_model_with_other_feature_definitions_is_refused(trained, session, tmp_path) -> None:
    version = _clone_artifact(session, tmp_path, lambda a: a.update(feature_version="0000deadbeef"))
    with pytest.raises(ModelMismatch, match="other feature definitions"):
        load_model(session, version)


def test_model_with_other_feature_list_is_refused(trained, session, tmp_path) -> None:
    version = _clone_artifact(session, tmp_path, lambda a: a.update(features=[*a["features"], "shoe_size"]))
    with pytest.raises(ModelMismatch, match="shoe_size"):
        load_model(session, version)


def test_too_little_data_is_a_clear_error(frame) -> None:
    with pytest.raises(NotEnoughData, match="Not enough students"):
        fit_and_evaluate(frame.head(20), "xgboost", FeatureSpec())
