"""Layered fixtures: a session-scoped PostgreSQL database, per-test transactions, settings.

Tests use ``DATABASE_URL`` when set (a throwaway database is created on that server and dropped at
the end), else an embedded server in a temporary folder, so they also pass on a fresh laptop.
Never SQLite.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.settings import Settings
from db.database import Database, connect
from db.engine import normalise_url
from db.models import DATA_TABLES


def _shared_data() -> Path:
    """The read-only public data sets: $STUDENTPERF_SHARED_DATA, else ``shared/data`` beside the checkout, else the
    workplace's ``/work/shared/data`` (a clean clone made elsewhere, as CI does, has no sibling folder)."""
    candidates = [os.environ.get("STUDENTPERF_SHARED_DATA"), Path(__file__).resolve().parents[2] / "shared" / "data",
                  "/work/shared/data"]
    found = [Path(c) for c in candidates if c and Path(c).is_dir()]
    return found[0] if found else Path(__file__).resolve().parents[2] / "shared" / "data"


SHARED_DATA = _shared_data()


def _admin_engine(url: str):
    return create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def test_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A STUDENTPERF_HOME for the whole test session."""
    return tmp_path_factory.mktemp("studentperf-home")


def _embedded_database() -> Iterator[str]:
    """A fresh embedded server in a folder of its own, stopped and removed at the end.

    Not under pytest's temp root: as root, pgserver runs PostgreSQL as another user and opens the folders
    above its data for it, and any other pytest session starting meanwhile makes that root private again.
    """
    from db.embedded import embedded_url, stop_embedded
    from db.engine import make_engine

    folder = Path(tempfile.mkdtemp(prefix="studentperf-test-"))
    try:
        yield embedded_url(folder / "pgdata")
    finally:
        make_engine.cache_clear()
        stop_embedded(folder / "pgdata")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a fresh database for this test session (created and dropped here)."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield from _embedded_database()
        return
    name = f"studentperf_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from db.engine import make_engine

        make_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, test_home: Path) -> Settings:
    """Settings for tests: the test database, a test secret, the test home."""
    return Settings(database_url=database_url, secret_key="test-secret-key-not-for-production", home=test_home)


@pytest.fixture(scope="session")
def database(settings: Settings) -> Database:
    """The migrated test database."""
    return connect(settings.database_url, settings.home, migrate=True)


@pytest.fixture()
def session(database: Database) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with database.engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        trans.rollback()


def truncate_data(database: Database, extra: tuple[str, ...] = ()) -> None:
    """Empty the student-data tables (and ``extra``) for tests that commit."""
    tables = ", ".join((*DATA_TABLES, "classes", "schools", "ingestion_runs", "rejected_rows", *extra))
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture()
def clean_db(database: Database) -> Iterator[Database]:
    """The test database emptied of student data before and after the test (for code that commits)."""
    truncate_data(database)
    yield database
    truncate_data(database)
