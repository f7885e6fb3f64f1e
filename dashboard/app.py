"""The app factory: Flask server, login, the request guard, Dash with Pages, the REST API, error pages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dash import Dash
from flask import Flask, Response, has_request_context, jsonify
from markupsafe import escape

from core.settings import Settings
from dashboard import jobs, shell
from dashboard.admin import install_admin_guard
from dashboard.api import register_api
from dashboard.auth import auth_bp, login_manager
from dashboard.cache import install_cache
from dashboard.deps import DB_KEY, SETTINGS_KEY
from dashboard.errors import register_error_handlers
from dashboard.ops import add_ops_routes, install_request_id
from dashboard.reports import register_reports
from dashboard.security import (
    add_security_headers,
    configure_cookies,
    content_security_policy,
    csrf_token,
    endpoints_matching,
    inline_script_hashes,
    install_guard,
)
from services.database import open_database
from services.health import check_database

log = logging.getLogger("studentperf.web")

HERE = Path(__file__).resolve().parent
PAGES_FOLDER = HERE / "pages"
ASSETS_FOLDER = HERE.parent / "assets"
DASH_KEY = "studentperf.dash"
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
SHELL_RULES = ("/", "/<path:path>", "/_dash-layout", "/_dash-dependencies", "/_reload-hash")


def create_app(settings: Settings) -> Flask:
    """Build the whole web app for ``settings`` (one per Gunicorn worker; engines are per process)."""
    server = Flask(__name__, static_folder=None, template_folder=str(HERE / "templates"))
    configure_cookies(server, settings)
    server.extensions[SETTINGS_KEY] = settings
    server.extensions[DB_KEY] = open_database(settings, required=False)
    login_manager.init_app(server)
    server.register_blueprint(auth_bp)
    install_cache(server, settings)
    register_api(server, settings)
    register_reports(server)  # the PDF downloads (profile, school report)
    server.add_url_rule("/healthz", "healthz", healthz)
    public_ops = add_ops_routes(server, metrics_enabled=settings.metrics_enabled)
    jobs.configure(settings)
    dash_app = server.extensions[DASH_KEY] = mount_dash(server, jobs.make_manager(settings))
    public = endpoints_matching(server, lambda rule: rule.startswith(STATIC_PREFIXES) or rule == "/_favicon.ico")
    public |= {"auth.login_form", "auth.login_submit", "auth.reset_form", "auth.reset_submit", "healthz", *public_ops}
    install_guard(server, public=public, shell=endpoints_matching(server, lambda rule: rule in SHELL_RULES))
    install_admin_guard(server)
    install_request_id(server)
    register_error_handlers(server)
    add_security_headers(server, settings, content_security_policy(dash_script_hashes(server, dash_app)))
    return server


def dash_script_hashes(server: Flask, app: Dash) -> list[str]:
    """The CSP hashes of the inline scripts of Dash's page (its renderer start-up and clientside callbacks)."""
    with server.test_request_context("/"):
        html = app.index()
    return sorted(set(inline_script_hashes(html)) | set(app.csp_hashes()))


def mount_dash(server: Flask, background_manager: object = None) -> Dash:
    """Mount Dash with Pages on ``server`` and claim its callbacks now (so several apps can coexist).

    ``background_manager`` runs the background callbacks (``dashboard.jobs.make_manager``).
    Bootstrap 5.3 is served from ``assets/0-bootstrap-5.3.6.min.css`` (vendored, MIT; sorted first), so nothing comes from a CDN.
    """
    app = Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(PAGES_FOLDER),
        assets_folder=str(ASSETS_FOLDER),
        title="Student performance",
        update_title=None,
        suppress_callback_exceptions=False,
        serve_locally=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        background_callback_manager=background_manager,
    )
    app.layout = shell.layout
    add_csrf_meta(app)
    shell.register_callbacks(app)
    with server.test_request_context("/"):
        app._setup_server()  # what Dash does on its first request: takes the pages' global callbacks now
        server.preprocess_request()  # and its pages router's first-request set-up (not in a real request, which
        # would then carry the layout's session writes, e.g. a cookie on an API token request)
    return app


def add_csrf_meta(app: Dash) -> None:
    """Put the session's CSRF token in every page's head as ``<meta name="csrf-token">`` (the API's X-CSRF-Token)."""
    render = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        token = escape(csrf_token()) if has_request_context() else ""
        kwargs["metas"] = f'{kwargs.get("metas", "")}<meta name="csrf-token" content="{token}">'
        return render(**kwargs)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


def healthz() -> tuple[Response, int]:
    """Liveness and database reachability, without login: 200 when the database answers, else 503."""
    from dashboard.deps import get_database

    health = check_database(get_database().engine)
    body = {"status": "ok" if health.database_ok else "degraded", "database": "ok" if health.database_ok else "unreachable"}
    return jsonify(body), 200 if health.database_ok else 503
