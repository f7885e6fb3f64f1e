"""The API's rate limit: ``API_RATE_LIMIT`` per user (browser session or API token), counted in memory or Redis.

Counters live in Redis when ``REDIS_URL`` is set (shared by every worker and replica), else in the worker's
memory. If Redis goes away the limit falls back to memory and the API keeps answering. Going over the
limit answers 429 as a problem with a sentence (the error handlers) and a ``Retry-After`` header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, g
from flask_limiter import Limiter
from limits import parse_many

from core.settings import Settings, SettingsError
from dashboard.security import client_address

LIMITER_KEY = "studentperf.limiter"


def rate_key() -> str:
    """Whose counter a request uses: its user's (session or token), else its address (refused by the guard anyway)."""
    viewer = g.get("viewer")
    return f"user:{viewer.user_id}" if viewer is not None else f"address:{client_address()}"


def database_name(settings: Settings) -> str:
    """The database's name: deployments (or test runs) sharing one Redis keep their counters apart."""
    return urlsplit(settings.database_url or "").path.lstrip("/") or "default"


def check_rate(text: str) -> str:
    """``text`` when Flask-Limiter can read it (e.g. ``600/minute``), else SettingsError with a sentence."""
    try:
        if parse_many(text):
            return text
    except ValueError:
        pass
    raise SettingsError(f"API_RATE_LIMIT must read like 600/minute or 10/second, not {text!r}.")


def install_limiter(server: Flask, settings: Settings, blueprints: tuple[Blueprint, ...]) -> Limiter:
    """Bind a limiter to ``server`` and apply the per-user limit to the API's blueprints."""
    limiter = Limiter(
        key_func=rate_key,
        storage_uri=settings.redis_url or "memory://",
        storage_options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if settings.redis_url else {},
        strategy="fixed-window",
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix=f"studentperf:{database_name(settings)}",
    )
    limiter.init_app(server)
    rate = check_rate(settings.api_rate_limit)
    for blueprint in blueprints:
        limiter.limit(rate)(blueprint)
    server.extensions[LIMITER_KEY] = limiter
    return limiter
