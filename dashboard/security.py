"""Request hardening: the one guard on every request, CSRF tokens, safe redirects, cookies, headers."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, jsonify, redirect, request, session
from flask_login import current_user, logout_user
from sqlalchemy.exc import InterfaceError, OperationalError

from core.errors import Unavailable
from core.settings import Settings

CSRF_KEY = "_csrf"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/login"
SESSION_LIFETIME = timedelta(hours=8)
DB_ERRORS = (OperationalError, InterfaceError, Unavailable)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_LOGGED_IN = "Log in to use this."
DB_DOWN = "The database is unreachable: try again in a minute."


def configure_cookies(server: Flask, settings: Settings) -> None:
    """Session cookie: HttpOnly, SameSite=Lax, Secure when asked; 8-hour lifetime; no remember-me cookie."""
    server.config.update(
        SECRET_KEY=settings.require_secret_key(),
        SESSION_COOKIE_NAME="studentperf_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_ok(submitted: str | None) -> bool:
    """True when ``submitted`` is this session's CSRF token."""
    expected = session.get(CSRF_KEY)
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a relative path on this site, else ``default`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith(LOGIN_PATH):
        return default
    return target


def client_address() -> str:
    """The client's address as the WSGI server saw it (ProxyFix in the wsgi module handles proxies)."""
    return request.remote_addr or "unknown"


def wants_json() -> bool:
    """True for API, Dash-internal and non-GET requests (they get JSON, never a page)."""
    return request.method != "GET" or request.path.startswith(("/_", "/api/"))


def error_json(message: str, status: int, **extra: object) -> Response:
    """A JSON error with one sentence."""
    response = jsonify({"error": message, "status": status, **extra})
    response.status_code = status
    return response


def _refuse_anonymous() -> Response:
    if request.method in ("GET", "HEAD") and not wants_json():
        target = safe_next(request.full_path.rstrip("?"))
        return redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", code=302)
    return error_json(NOT_LOGGED_IN, 401, login=LOGIN_PATH)


def _origin_ok() -> bool:
    if request.method not in UNSAFE_METHODS:
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.host


class Guard:
    """The single before-request check: public endpoints pass, everyone else must be a live user."""

    def __init__(self, public: Iterable[str], shell: Iterable[str]) -> None:
        self.public = frozenset(public)
        self.shell = frozenset(shell)

    def __call__(self) -> Response | None:
        """Run the check for the current request; a response ends the request."""
        if not _origin_ok():
            return error_json("Cross-site requests are refused.", 403)
        if request.endpoint in self.public:
            return None
        if not session.get("_user_id"):
            return _refuse_anonymous()
        try:
            user = current_user._get_current_object()
            authenticated = bool(user.is_authenticated)
        except DB_ERRORS:
            return self._database_down()
        if not authenticated:
            logout_user()
            session.clear()
            return _refuse_anonymous()
        g.viewer = user.viewer
        sync_groups(user.viewer.email, user.viewer.role)
        return None

    def _database_down(self) -> Response | None:
        g.database_down = True
        if request.endpoint in self.shell and request.method == "GET":
            return None  # the empty shell (no data) renders and shows the banner
        if wants_json():
            return error_json(DB_DOWN, 503)
        return Response(DB_DOWN, status=503, mimetype="text/plain")


def sync_groups(email: str, role: str) -> None:
    """Keep dash-auth's view of the user (``session['user']['groups']``) equal to the role in the database."""
    wanted = {"email": email, "groups": [role]}
    if session.get("user") != wanted:
        session["user"] = wanted


def install_guard(server: Flask, public: Iterable[str], shell: Iterable[str]) -> Guard:
    """Register the guard as the very first before-request function."""
    guard = Guard(public, shell)
    server.before_request_funcs.setdefault(None, []).insert(0, guard)
    return guard


def add_security_headers(server: Flask) -> None:
    """No framing, no sniffing, no caching of anything behind the login."""

    @server.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'; object-src 'none'; base-uri 'self'")
        if g.get("viewer") is not None or request.path.startswith(("/api/", "/_dash-update-component", "/login")):
            response.headers["Cache-Control"] = "no-store"
        return response


def endpoints_matching(server: Flask, predicate: Callable[[str], bool]) -> set[str]:
    """Endpoint names of the server's URL rules whose rule string satisfies ``predicate``."""
    return {rule.endpoint for rule in server.url_map.iter_rules() if predicate(rule.rule)}
