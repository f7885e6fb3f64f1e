"""Fixtures of the analytics service tests: one seeded world per module, rolled back at the end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.models import DATA_TABLES
from services.scope import Viewer

sys.path.insert(0, str(Path(__file__).parent))
from analytics_seed import World, seed_world  # noqa: E402


@pytest.fixture(scope="module")
def world_session(database) -> Iterator[tuple[Session, World]]:
    """A session over a transaction holding only the seeded world (rolled back after the module)."""
    with database.engine.connect() as conn:
        trans = conn.begin()
        tables = ", ".join((*DATA_TABLES, "classes", "schools", "model_versions"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            world = seed_world(s)
            s.flush()
            yield s, world
        trans.rollback()


@pytest.fixture()
def ws(world_session) -> Session:
    """The seeded session."""
    return world_session[0]


@pytest.fixture()
def world(world_session) -> World:
    """Ids of the seeded world."""
    return world_session[1]


@pytest.fixture()
def admin() -> Viewer:
    """An administrator."""
    return Viewer(user_id=1, email="admin@example.org", role="admin")

