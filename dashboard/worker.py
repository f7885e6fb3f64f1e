"""The Celery worker of the background jobs: ``celery -A dashboard.worker:celery_app worker`` (needs ``REDIS_URL``).

Importing the web app registers the pages' background callbacks as Celery tasks on the same Celery app.
"""

from __future__ import annotations

from core.settings import SettingsError
from dashboard.jobs import celery_app as _celery_app
from dashboard.wsgi import settings

if not settings.redis_url:
    raise SettingsError("REDIS_URL is not set: the background-job worker needs Redis (without it jobs run in-process).")
celery_app = _celery_app(settings.redis_url)
