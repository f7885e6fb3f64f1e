"""The product's handle on its database: URL resolution, engine, session factory, schema upgrade."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import Unavailable
from core.settings import Settings
from db.engine import log_slow_queries, make_engine, resolve_url, session_factory
from db.migrate import upgrade

log = logging.getLogger("studentperf.db")


@dataclass(frozen=True)
class Database:
    """Engine plus session factory for one database."""

    url: str
    engine: Engine
    Session: sessionmaker[Session]

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.Session() as session, session.begin():
            yield session


def connect(database_url: str | None, home: PathLike[str] | str, *, migrate: bool = True, pool_size: int = 5) -> Database:
    """Open the database (embedded when ``database_url`` is None) and bring its schema up to date."""
    url = resolve_url(database_url, home)
    engine = make_engine(url, pool_size=pool_size)
    if migrate:
        upgrade(engine)
    return Database(url=url, engine=engine, Session=session_factory(engine))


def open_database(settings: Settings, *, migrate: bool = True, required: bool = True, batch: bool = False) -> Database:
    """The product's one way in: connect (embedded server when DATABASE_URL is unset) and migrate.

    When the server cannot be reached, ``Unavailable`` says so in one sentence; with ``required=False``
    (a web server that must come up and answer 503 until the database returns) a warning is logged instead
    and a lazy handle is returned that reconnects by itself on the next request. ``batch`` (the command line's loads,
    training and scoring) logs slow statements at debug level: bulk statements are long by nature.
    """
    try:
        database = connect(settings.database_url, settings.home, migrate=migrate)
    except (OperationalError, InterfaceError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if required:
            raise Unavailable(f"Cannot reach the database: {reason}") from exc
        log.warning("database unreachable at start-up; serving anyway and retrying on each request: %s", reason)
        database = connect(settings.database_url, settings.home, migrate=False)
    log_slow_queries(database.engine, settings.slow_query_ms, logging.DEBUG if batch else logging.WARNING)
    return database
