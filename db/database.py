"""The product's handle on its database: URL resolution, engine, session factory, schema upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, resolve_url, session_factory
from db.migrate import upgrade


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
