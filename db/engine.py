"""Engine and session factory; the same code path for a server URL or the embedded server."""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use the psycopg2 driver for plain postgresql:// URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def resolve_url(database_url: str | None, home: os.PathLike[str] | str) -> str:
    """The URL to use: ``database_url`` when given, else the embedded server in ``home/pgdata``."""
    if database_url:
        return normalise_url(database_url)
    from pathlib import Path

    from db.embedded import embedded_url

    return embedded_url(Path(home) / "pgdata")


@lru_cache(maxsize=8)
def make_engine(url: str, pool_size: int = 5) -> Engine:
    """One engine per URL per process (Gunicorn workers each build their own after fork)."""
    engine = create_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5, "application_name": "studentperf"},
    )

    @event.listens_for(engine, "connect")
    def _set_timeouts(dbapi_conn, _record):  # noqa: ANN001
        with dbapi_conn.cursor() as cur:
            cur.execute("SET statement_timeout = '600s'")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; callers own transactions (``with S() as s, s.begin():``)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
