"""How dashboard code reaches the database and the viewer: the only bridge from Flask to services.

``create_app`` stores the :class:`db.database.Database` in ``server.extensions[DB_KEY]``; callbacks,
views and the REST API open a read session with :func:`read_session` and get the logged-in viewer
with :func:`dashboard.auth.current_viewer` (built from the database, never from the browser).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from services.database import Database

DB_KEY = "studentperf.db"
SETTINGS_KEY = "studentperf.settings"


def get_database() -> Database:
    """The app's database handle."""
    return current_app.extensions[DB_KEY]


@contextmanager
def read_session() -> Iterator[Session]:
    """A session in one transaction for one request (committed at the end, rolled back on error)."""
    with get_database().begin() as session:
        yield session
