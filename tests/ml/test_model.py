"""Training, registry and explanations: honest comparison, reproducible, round-trips, exact SHAP, refusals."""

from __future__ import annotations

import dataclasses

import joblib
import numpy as np
import pytest
from sqlalchemy import select

from db.models import ModelVersion
from ml.errors import ModelMismatch, NotEnoughData
from ml.explain import contributions, probability_from_margin
from ml.features import FeatureSpec, build_features, training_frame
from ml.registry import list_models, load_model, save_model
from ml.train import fit_and_evaluate


@pytest.fixture(scope="module")
def frame(school, trained):
    """The training frame of the trained model's date."""
    with school.begin() as s:
        return training_frame(s, trained.as_of, 60.0)


def test_model_beats_rule_baseline_on_auc(trained) -> None:
    m = trained.metrics
    assert trained.beats_rule
    assert m["model"]["roc_auc"] > m["rule"]["roc_auc"] + 0.05
    assert m["model"]["roc_auc"] > 0.85 and m["logreg"]["roc_auc"] is not None
    assert sum(m["model"]["confusion"].values()) == m["n_test"]
    assert {"fpr_gap", "fnr_gap", "rows"} <= set(m["model"]["groups"]["gender"])
    assert sum(r["n"] for r in m["model"]["calibration"]) == m["n_test"]
    assert "beats the rule baseline" in trained.summary()


def test_summary_warns_loudly_when_rule_wins(trained) -> None:
    worse = dataclasses.replace(trained, metrics={**trained.metrics, "beats_rule": False})
    assert "DOES NOT BEAT THE RULE BASELINE" in worse.summary()


def test_same_seed_same_model(frame, trained, session) -> None:
    """Refitting with the registered model's seed on the same rows gives the same model, bit for bit."""
    spec = FeatureSpec()
    again = fit_and_evaluate(frame, "xgboost", spec, seed=0)
    registered = load_model(session, trained.version)
    x = frame[spec.columns]
    assert again.params.items() <= registered.info.params.items()
    assert again.threshold == registered.threshold
    np.testing.assert_array_equal(again.pipeline.predict_proba(x), registered.pipeline.predict_proba(x))


def test_saved_pipeline_round_trips(school, frame, session, tmp_path) -> None:
    spec = FeatureSpec(include_demographics=True)
    evaluation = fit_and_evaluate(frame, "xgboost", spec, seed=1)
    info = save_model(session, tmp_path, pipeline=evaluation.pipeline, spec=spec, threshold=evaluation.threshold,
                      model_type="xgboost", as_of=frame["final_date"].min(), data_hash_="abc123",
                      params=evaluation.params, metrics={}, activate=False)
    loaded = load_model(session, info.version)
    x = frame[spec.columns]
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(x), evaluation.pipeline.predict_proba(x))
    assert loaded.threshold == evaluation.threshold and loaded.columns == spec.columns
    assert info.version in [m.version for m in list_models(session)]


def test_shap_contributions_plus_base_equal_margin(school, trained, session) -> None:
    model = load_model(session)
    features = build_features(session, trained.as_of)
    contrib = contributions(model, features)
    booster = model.pipeline.named_steps["model"]
    xt = model.pipeline.named_steps["prep"].transform(features[model.columns])
    margin = booster.predict(xt, output_margin=True)
    np.testing.assert_allclose(contrib.values.sum(axis=1) + contrib.base_value, margin, atol=1e-4)
    np.testing.assert_allclose(probability_from_margin(contrib.margin, contrib.space),
                               model.pipeline.predict_proba(features[model.columns])[:, 1], atol=1e-5)


def test_logreg_contributions_are_exact_too(frame) -> None:
    spec = FeatureSpec()
    evaluation = fit_and_evaluate(frame, "logreg", spec, seed=0)
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
