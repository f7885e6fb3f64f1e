"""Engine and session factory; the same code path for a server URL or the embedded server."""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache
from typing import Any

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


slow_log = logging.getLogger("studentperf.db.slow")
_SLOW_MS = "studentperf_slow_query_ms"
_SLOW_LEVEL = "studentperf_slow_query_level"
_STARTED = "studentperf_query_started"


def log_slow_queries(engine: Engine, threshold_ms: int, level: int = logging.WARNING) -> None:
    """Log (``slow query``, with ``duration_ms`` and the statement, never its parameters) every statement of
    ``engine`` slower than ``threshold_ms``; 0 turns it off. Listeners are added once per engine; the last call sets
    the threshold and the level (a warning when serving; debug in batch commands, whose bulk statements are long by
    nature and report their own durations)."""
    first = not hasattr(engine, _SLOW_MS)
    setattr(engine, _SLOW_MS, threshold_ms)
    setattr(engine, _SLOW_LEVEL, level)
    if not first:
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, _cursor, _statement, _parameters, _context, _many):  # noqa: ANN001
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _finish(conn, _cursor, statement, _parameters, _context, many):  # noqa: ANN001
        started = conn.info.get(_STARTED)
        if not started:
            return
        elapsed_ms = (time.perf_counter() - started.pop()) * 1000
        limit = getattr(engine, _SLOW_MS, 0)
        if limit and elapsed_ms >= limit:
            slow_log.log(getattr(engine, _SLOW_LEVEL, logging.WARNING), "slow query",
                         extra=_slow_fields(statement, elapsed_ms, limit, many))

    @event.listens_for(engine, "handle_error")
    def _failed(context):  # noqa: ANN001
        started = context.connection.info.get(_STARTED) if context.connection is not None else None
        if started:
            started.pop()


def _slow_fields(statement: str, elapsed_ms: float, limit: int, many: bool) -> dict[str, Any]:
    return {"duration_ms": round(elapsed_ms, 1), "threshold_ms": limit, "executemany": many,
            "statement": " ".join(statement.split())[:1000]}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; callers own transactions (``with S() as s, s.begin():``)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
