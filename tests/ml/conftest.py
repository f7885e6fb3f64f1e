"""Fixtures of the ml tests: one generated school loaded once, one model trained on it and scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from ml_school import load_school  # tests/ml is on sys.path (rootless test folders)
from sqlalchemy import text

from core.settings import Settings
from db.database import Database
from db.models import DATA_TABLES
from ml.score import ScoreResult, score_all
from ml.train import TrainResult, train_and_register

N_STUDENTS = 500
YEARS = 3
AS_OF = dt.date(2026, 2, 9)
"""The school's "today": week 24 of 2025-2026, after the complete years 2023-2024 and 2024-2025."""


def _empty(database: Database) -> None:
    tables = ", ".join((*DATA_TABLES, "classes", "schools", "model_versions"))
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="package")
def school(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The test database holding one generated school: ``N_STUDENTS`` a year, ``YEARS`` years up to ``AS_OF`` (seed 0)."""
    _empty(database)
    load_school(database, N_STUDENTS, 0, Path(tmp_path_factory.mktemp("ml-school")), years=YEARS, as_of=AS_OF)
    yield database
    _empty(database)


@pytest.fixture(scope="package")
def ml_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose models folder is private to the ml tests."""
    return settings.with_(home=tmp_path_factory.mktemp("ml-home"))


@pytest.fixture(scope="package")
def trained(school: Database, ml_settings: Settings) -> TrainResult:
    """An XGBoost model trained on the past years and activated."""
    return train_and_register(school, ml_settings, seed=0)


@pytest.fixture(scope="package")
def scored(school: Database, ml_settings: Settings, trained: TrainResult) -> ScoreResult:
    """Every current student scored with the trained model."""
    return score_all(school, ml_settings)


@pytest.fixture()
def class_ids(school: Database) -> list[int]:
    """The ids of the classes of the current school year, in order."""
    with school.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "SELECT id FROM classes WHERE school_year = (SELECT max(school_year) FROM classes) ORDER BY id"))]
