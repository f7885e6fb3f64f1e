"""Background jobs of the dashboard (uploads, retraining): Dash background callbacks and the manager that runs them.

Without ``REDIS_URL`` the jobs run in child processes and report through a disk cache under ``Settings.jobs_dir``
(``DiskcacheManager``); with it, in a Celery worker that uses Redis as broker and result store (``CeleryManager``):
``celery -A dashboard.worker:celery_app worker`` (docker-compose's ``jobs`` service), which builds the same app so
the same callbacks are registered. A job runs outside any web request: it opens its own database handle from the
settings ``create_app`` was given (:func:`configure`), and it learns who asked from what the request stored on the
server (an upload's ticket), never from the browser.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings
from services.database import Database, open_database

log = logging.getLogger("studentperf.jobs")

_SETTINGS: dict[str, Settings] = {}
_CELERY: dict[str, Any] = {}


def configure(settings: Settings) -> None:
    """Remember the settings the jobs of this process run with (``create_app`` calls it)."""
    _SETTINGS["current"] = settings


def job_settings() -> Settings:
    """The settings of the jobs (those of the last app built in this process, else the environment's)."""
    return _SETTINGS.get("current") or Settings.from_env()


@contextmanager
def job_database() -> Iterator[Database]:
    """A database handle of the job's own (a child process must not share its parent's connections).

    Engines are cached per URL, so a forked job (or a Celery pool process) inherits its parent's engine and pooled
    connections: ``dispose(close=False)`` drops them without closing the parent's sockets, and the job connects anew.
    """
    database = open_database(job_settings(), migrate=False)
    database.engine.dispose(close=False)
    try:
        yield database
    finally:
        database.engine.dispose()


def celery_app(redis_url: str) -> Any:
    """The Celery app of the jobs (one per process), Redis as broker and result store."""
    if redis_url not in _CELERY:
        from celery import Celery

        _CELERY[redis_url] = Celery("studentperf", broker=redis_url, backend=redis_url)
    return _CELERY[redis_url]


def make_manager(settings: Settings) -> Any:
    """The background-callback manager: Celery with Redis when ``REDIS_URL`` is set, else a disk cache."""
    from dash import CeleryManager, DiskcacheManager

    if settings.redis_url:
        return CeleryManager(celery_app(settings.redis_url), expire=3600)
    import diskcache

    folder = settings.jobs_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # an unusable home must not stop the app: jobs then report through a private folder
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="studentperf-jobs-"))
        log.warning("jobs folder %s unusable (%s): using %s", settings.jobs_dir, type(exc).__name__, folder)
    return DiskcacheManager(diskcache.Cache(str(folder)), expire=3600)
