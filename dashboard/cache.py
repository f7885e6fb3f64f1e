"""The cache of shared answers (KPIs, distribution, trends, effects): flask-caching, never stale, never required.

Redis (``RedisCache``) when ``REDIS_URL`` is set, else a file cache under ``STUDENTPERF_HOME/cache`` that the
workers of one machine share. A key is the question, the viewer's scope (:meth:`Viewer.scope_key`), the filters
and the data version (:func:`services.data_version.data_version`, read in the request's own session), which every
load and scoring run changes: an answer computed before a load is never served after it. The service module's
source is in the key too, so a deploy that changes an answer's shape never unpickles an old one. If the cache fails
(Redis down), the answer is computed as if there were no cache.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from flask_caching import Cache
from sqlalchemy.orm import Session

from core.settings import Settings
from services.data_version import data_version
from services.scope import Filters, Viewer

log = logging.getLogger("studentperf.cache")

T = TypeVar("T")
TIMEOUT_S = 3600  # the data version makes old entries unreachable; this only bounds their life
REDIS_TIMEOUT_S = 0.5  # a cache that answers slower than this is worse than none
cache = Cache()
_MISS = object()


def cache_config(settings: Settings) -> dict[str, Any]:
    """Flask-Caching's configuration for ``settings``."""
    common = {"CACHE_DEFAULT_TIMEOUT": TIMEOUT_S, "CACHE_KEY_PREFIX": "studentperf:"}
    if settings.redis_url:
        options = {"socket_connect_timeout": REDIS_TIMEOUT_S, "socket_timeout": REDIS_TIMEOUT_S}
        return {**common, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url, "CACHE_OPTIONS": options}
    return {**common, "CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(settings.home / "cache"),
            "CACHE_THRESHOLD": 2000}


def install_cache(server: Flask, settings: Settings) -> None:
    """Bind the cache to ``server`` (a worker-local cache, with a warning, when the cache folder cannot be made)."""
    try:
        cache.init_app(server, config=cache_config(settings))
    except OSError as exc:
        log.warning("cache folder unusable (%s): each worker keeps its own cache", type(exc).__name__)
        cache.init_app(server, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": TIMEOUT_S})


def cache_key(name: str, viewer: Viewer, filters: Filters | None, version: str, extra: dict[str, Any]) -> str:
    """The key of one shared answer: question, scope, filters (None: a question without), extras and data version
    (hashed, fixed length)."""
    text = repr((name, viewer.scope_key(), filters, sorted(extra.items()), version))
    return "answer:" + hashlib.sha256(text.encode()).hexdigest()


def _get(key: str) -> Any:
    try:
        value = cache.get(key)
    except Exception as exc:  # noqa: BLE001  (any cache failure: answer without it)
        log.warning("cache unavailable, answering without it: %s", type(exc).__name__)
        return _MISS
    return _MISS if value is None else value


def _set(key: str, value: Any) -> None:
    try:
        cache.set(key, value)
    except Exception as exc:  # noqa: BLE001
        log.warning("cache unavailable, answer not kept: %s", type(exc).__name__)


@functools.cache
def code_version(module_name: str) -> str:
    """A fingerprint of a service module's source: a deploy that changes an answer's shape never reads old entries."""
    module = sys.modules.get(module_name)
    try:
        source = inspect.getsource(module) if module is not None else module_name
    except (OSError, TypeError):
        source = module_name
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _answer(service: Callable[..., T], session: Session, viewer: Viewer, filters: Filters | None, extra: dict[str, Any],
            compute: Callable[[], T]) -> T:
    name = f"{service.__module__}.{service.__qualname__}@{code_version(service.__module__)}"
    key = cache_key(name, viewer, filters, data_version(session), extra)
    value = _get(key)
    if value is _MISS:
        value = compute()
        _set(key, value)
    return value


def shared_answer(service: Callable[..., T], *, session: Session, viewer: Viewer, filters: Filters, **extra: Any) -> T:
    """``service(session=, viewer=, filters=, **extra)``, from the cache when the same scope asked since the last load."""
    return _answer(service, session, viewer, filters, extra,
                   lambda: service(session=session, viewer=viewer, filters=filters, **extra))


def scoped_answer(service: Callable[..., T], *, session: Session, viewer: Viewer, **extra: Any) -> T:
    """``service(session=, viewer=, **extra)`` for a question without filters (one student's profile), from the cache
    when the same scope asked it since the last load. A refusal (``NotFound``) is raised each time, never kept."""
    return _answer(service, session, viewer, None, extra, lambda: service(session=session, viewer=viewer, **extra))
