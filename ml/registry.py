"""Model registry: one joblib artifact per model under ``models_dir``, its provenance in ``model_versions``,
and its scoring runs in ``scoring_runs``.

The active model has one owner, :func:`active_model`, and what every surface shows of it has one
owner too, :func:`scored_run`: the active model's latest stored scoring run (see its docstring).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

import core
from db.models import ModelVersion, ScoringRun
from ml import features as feature_module
from ml.errors import ModelMismatch, NoActiveModel, NotScoredYet, UnknownModel
from ml.features import FeatureSpec

ML_DIR = Path(__file__).resolve().parent
NO_ACTIVE_MODEL = (
    "No active risk model yet: an administrator trains one (`studentperf train`) and scores the students "
    "(`studentperf score`)."
)
NOT_SCORED_YET = "The active model has not scored anyone yet: run `studentperf score`."


def feature_version() -> str:
    """A fingerprint of the feature definitions (SQL and windows): a model trained on others is refused."""
    source = feature_module._FEATURES_SQL + repr((feature_module.RECENT_DAYS, feature_module.NUMERIC_FEATURES))
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def code_version() -> str:
    """Package version plus a fingerprint of the ml package's source files."""
    digest = hashlib.sha256()
    for path in sorted(ML_DIR.glob("*.py")):
        digest.update(path.read_bytes())
    return f"{core.__version__}+{digest.hexdigest()[:10]}"


def data_hash(frame: pd.DataFrame) -> str:
    """A fingerprint of the training rows (features and label, in order)."""
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class ModelInfo:
    """A registered model version, as plain data."""

    id: int
    version: str
    created_at: dt.datetime
    model_type: str
    as_of: dt.date | None
    data_hash: str
    code_version: str
    threshold: float
    is_active: bool
    artifact_path: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to score: its fitted pipeline, the features it expects and its threshold."""

    info: ModelInfo
    pipeline: Pipeline
    spec: FeatureSpec
    threshold: float

    @property
    def columns(self) -> list[str]:
        """The model's input columns, in order."""
        return self.spec.columns


def _info(row: ModelVersion) -> ModelInfo:
    return ModelInfo(
        id=row.id, version=row.version, created_at=row.created_at, model_type=row.model_type, as_of=row.as_of,
        data_hash=row.data_hash, code_version=row.code_version, threshold=row.threshold,
        is_active=row.is_active, artifact_path=row.artifact_path, params=dict(row.params or {}),
        metrics=dict(row.metrics or {}), features=list(row.features or []),
    )


def new_version(model_type: str, hash_: str) -> str:
    """A unique, sortable version name: UTC time, model type, data fingerprint."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")[:-3]
    return f"{stamp}-{model_type}-{hash_[:6]}"


def save_model(
    session: Session,
    models_dir: Path,
    *,
    pipeline: Pipeline,
    spec: FeatureSpec,
    threshold: float,
    model_type: str,
    as_of: dt.date,
    data_hash_: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    activate: bool = True,
    extras: dict[str, Any] | None = None,
) -> ModelInfo:
    """Write the artifact (pipeline + features + threshold + ``extras``) and insert its ``model_versions`` row."""
    version = new_version(model_type, data_hash_)
    models_dir.mkdir(parents=True, exist_ok=True)
    path = (models_dir / f"{version}.joblib").resolve()
    artifact = {
        "version": version, "pipeline": pipeline, "features": spec.columns,
        "include_demographics": spec.include_demographics, "threshold": float(threshold),
        "model_type": model_type, "feature_version": feature_version(), **(extras or {}),
    }
    joblib.dump(artifact, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    row = ModelVersion(
        version=version, model_type=model_type, as_of=as_of, data_hash=data_hash_, code_version=code_version(),
        params={**params, "artifact_sha256": sha, "feature_version": feature_version(),
                "include_demographics": spec.include_demographics},
        metrics=metrics, features=spec.columns, threshold=float(threshold), artifact_path=str(path),
        is_active=False,
    )
    session.add(row)
    session.flush()
    if activate:
        activate_version(session, version)
    return _info(row)


def list_models(session: Session) -> list[ModelInfo]:
    """Every registered model, newest first."""
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc()))
    return [_info(r) for r in rows]


def activate_version(session: Session, version: str) -> ModelInfo:
    """Make ``version`` the one active model (the artifact must exist and match the current features)."""
    row = session.scalar(select(ModelVersion).where(ModelVersion.version == version))
    if row is None:
        raise UnknownModel(f"No model version {version!r}: see `studentperf models list`.")
    _load_artifact_checked(_info(row))
    session.execute(update(ModelVersion).where(ModelVersion.is_active).values(is_active=False))
    session.flush()
    row.is_active = True
    session.flush()
    return _info(row)


def active_model(session: Session) -> ModelInfo:
    """The active model's registry row (``NoActiveModel`` when none is active): the only place that looks it up."""
    row = session.scalar(select(ModelVersion).where(ModelVersion.is_active))
    if row is None:
        raise NoActiveModel(NO_ACTIVE_MODEL)
    return _info(row)


@dataclass(frozen=True)
class ScoringRunInfo:
    """One stored scoring run: which model, the features' date, how it set the tiers, how many it scored.

    ``method`` is ``interval`` (DEWS tiers: the interval against ``threshold``) or ``cutoffs`` (High at or above
    ``high``, Low below ``low``). ``previous_id`` is the same model's run before this one (None for its first run,
    or when not looked up).
    """

    id: int
    model_version_id: int
    model_version: str
    as_of: dt.date
    high: float
    low: float
    n_scored: int
    created_at: dt.datetime
    method: str = "cutoffs"
    threshold: float | None = None
    previous_id: int | None = None
    model_trained: dt.date | None = None  # the day the model was trained (what teachers are told, not its version)


def record_run(
    session: Session, model: ModelInfo, as_of: dt.date, high: float, low: float, n_scored: int, *,
    method: str = "cutoffs", threshold: float | None = None,
) -> ScoringRunInfo:
    """Insert a scoring run of ``model`` with how it set the tiers (the caller writes its predictions and commits)."""
    row = ScoringRun(model_version_id=model.id, as_of=as_of, high=float(high), low=float(low), n_scored=int(n_scored),
                     method=method, threshold=threshold)
    session.add(row)
    session.flush()
    return _run_info(row, model.version)


def _run_info(row: ScoringRun, version: str, previous_id: int | None = None,
              trained: dt.datetime | None = None) -> ScoringRunInfo:
    return ScoringRunInfo(id=row.id, model_version_id=row.model_version_id, model_version=version, as_of=row.as_of,
                          high=row.high, low=row.low, n_scored=row.n_scored, created_at=row.created_at,
                          method=row.method, threshold=row.threshold, previous_id=previous_id,
                          model_trained=None if trained is None else trained.date())


def scored_run(session: Session) -> ScoringRunInfo:
    """The active model's latest stored scoring run: what every surface shows.

    Policy: the at-risk list, its export and API, the overview's at-risk share, a student's profile and
    the explanation endpoint all read the predictions of this run and the tier stored with each one
    (never a live probability, never a tier recomputed with default cut-offs). Until a model is active
    this raises ``NoActiveModel``; until the active model has a scoring run it raises ``NotScoredYet``;
    each with one sentence that every surface shows as it is. Every run is kept: the returned run's
    ``previous_id`` is the same model's run before it (what "change since the last run" compares with).

    Parameters
    ----------
    session : an open session; nothing is written.
    """
    earlier = aliased(ScoringRun)
    previous = (
        select(func.max(earlier.id)).where(earlier.model_version_id == ScoringRun.model_version_id,
                                           earlier.id < ScoringRun.id)
        .correlate(ScoringRun).scalar_subquery()
    )
    latest = (
        select(ModelVersion.version, ScoringRun, previous, ModelVersion.created_at).where(ModelVersion.is_active)
        .outerjoin(ScoringRun, ScoringRun.model_version_id == ModelVersion.id)
        .order_by(ScoringRun.id.desc().nulls_last()).limit(1)
    )
    found = session.execute(latest).first()  # one query: this runs on every page and API call
    if found is None:
        raise NoActiveModel(NO_ACTIVE_MODEL)
    version, row, previous_id, trained = found
    if row is None:
        raise NotScoredYet(NOT_SCORED_YET)
    return _run_info(row, version, previous_id, trained)


def load_model(session: Session, version: str | None = None) -> LoadedModel:
    """Load ``version`` (default: the active model), refusing an artifact whose features do not match."""
    if version is None:
        info = active_model(session)
    else:
        row = session.scalar(select(ModelVersion).where(ModelVersion.version == version))
        if row is None:
            raise UnknownModel(f"No model version {version!r}: see `studentperf models list`.")
        info = _info(row)
    artifact = _load_artifact_checked(info)
    spec = FeatureSpec(include_demographics=bool(artifact["include_demographics"]))
    return LoadedModel(info=info, pipeline=artifact["pipeline"], spec=spec, threshold=float(artifact["threshold"]))


def _load_artifact_checked(info: ModelInfo) -> dict[str, Any]:
    path = Path(info.artifact_path)
    if not path.is_file():
        raise ModelMismatch(f"Model {info.version} has no artifact at {path}: retrain or activate another version.")
    stat = path.stat()
    artifact = _read_artifact(str(path), stat.st_mtime_ns, stat.st_size)
    check_artifact(artifact, info)
    return artifact


@lru_cache(maxsize=4)
def _read_artifact(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    """Read (once per file version) an artifact; the cache key changes when the file changes."""
    return joblib.load(path)


def check_artifact(artifact: dict[str, Any], info: ModelInfo) -> None:
    """Raise ``ModelMismatch`` unless the artifact's features are exactly what the current code builds."""
    spec = FeatureSpec(include_demographics=bool(artifact.get("include_demographics")))
    expected = spec.columns
    saved = list(artifact.get("features", []))
    if artifact.get("feature_version") != feature_version():
        raise ModelMismatch(
            f"Model {info.version} was trained on other feature definitions "
            f"({artifact.get('feature_version')} vs {feature_version()} now): retrain it with `studentperf train`."
        )
    if saved != expected or saved != list(info.features):
        missing = sorted(set(expected) - set(saved)) or sorted(set(saved) - set(expected))
        raise ModelMismatch(
            f"Model {info.version} expects features that do not match the current data (differs on: "
            f"{', '.join(missing) or 'column order'}): retrain it with `studentperf train`."
        )
    fitted = list(getattr(artifact["pipeline"], "feature_names_in_", saved))
    if fitted != saved:
        raise ModelMismatch(f"Model {info.version}'s pipeline was fitted on other columns than it declares: retrain it.")


def require_columns(model: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns from ``frame``; a clear ``ModelMismatch`` if any is missing."""
    missing = [c for c in model.columns if c not in frame.columns]
    if missing:
        raise ModelMismatch(
            f"Model {model.info.version} needs features the data does not have ({', '.join(missing)}): retrain it."
        )
    return frame[model.columns]
