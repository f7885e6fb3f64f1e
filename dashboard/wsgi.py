"""The WSGI entry point for Gunicorn: ``gunicorn -c gunicorn.conf.py dashboard.wsgi:app``.

Each Gunicorn worker imports this module after forking (no preload), so each builds its own app,
engine and connection pool. ``STUDENTPERF_PROXY_HOPS`` (default 0) trusts that many reverse proxies'
``X-Forwarded-*`` headers for the client address and scheme.
"""

from __future__ import annotations

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from core.logging import configure_logging
from core.settings import Settings
from dashboard.app import create_app

settings = Settings.from_env()
configure_logging(settings)
app = create_app(settings)
_hops = int(os.environ.get("STUDENTPERF_PROXY_HOPS") or 0)
if _hops:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_hops, x_proto=_hops, x_host=_hops)  # type: ignore[method-assign]
