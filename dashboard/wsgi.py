"""The WSGI entry point for Gunicorn: ``gunicorn -c gunicorn.conf.py dashboard.wsgi:app``.

Each Gunicorn worker imports this module after forking (no preload), so each builds its own app,
engine and connection pool. ``STUDENTPERF_PROXY_HOPS`` (default 0) trusts that many reverse proxies'
``X-Forwarded-*`` headers for the client address and scheme.
"""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from core.logging import configure_logging
from core.settings import Settings
from dashboard.app import create_app

settings = Settings.from_env()
configure_logging(settings)
app = create_app(settings)
if settings.proxy_hops:
    hops = settings.proxy_hops
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
