"""Request hardening: the one guard on every request, CSRF tokens, safe redirects, cookies, headers.

Who may pass the guard: a browser session (idle for at most ``SESSION_LIFETIME``, and never older than
``SESSION_ABSOLUTE_LIFETIME`` since its login, however active), or, on ``/api/v1/`` only, an API token sent
as ``Authorization: Bearer`` (:mod:`services.tokens`), which acts with its user's role and scope and needs no
CSRF token because it carries no cookie. A session's unsafe API request needs its CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session
from flask_login import current_user, logout_user
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.http import HTTP_STATUS_CODES

from core.errors import Unavailable
from core.settings import Settings
from dashboard.callback_input import BadCallback, check_callback_body

CSRF_KEY = "_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/login"
LOGIN_AT_KEY = "_login_at"
SESSION_LIFETIME = timedelta(hours=8)  # idle: the signed cookie is refreshed on every request
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)  # since login, however active
HSTS = "max-age=31536000; includeSubDomains"
API_PREFIX = "/api/v1/"
CALLBACK_PATH = "/_dash-update-component"
DASH_APP_KEY = "studentperf.dash"
NUL_BYTE = "The request contains a NUL byte."
BAD_TOKEN = "The API token is not valid: it is unknown, expired or revoked, or its user is deactivated."
BEARER_ONLY = "The API accepts a session or an API token sent as `Authorization: Bearer <token>`."
CSRF_MISSING = "This request needs the session's CSRF token in the X-CSRF-Token header."
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
        MAX_CONTENT_LENGTH=settings.request_max_bytes,  # a 413 names the upload limit (dashboard.errors)
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


API_PAGES = frozenset({"/api/v1/docs"})  # the API's pages for people: a login page, not a 401, when logged out


def wants_json() -> bool:
    """True for API, Dash-internal and non-GET requests (they get JSON, never a page)."""
    if request.method == "GET" and request.path in API_PAGES:
        return False
    return request.method != "GET" or request.path.startswith(("/_", "/api/"))


PROBLEM_JSON = "application/problem+json"


def problem_json(message: str, status: int, **extra: object) -> Response:
    """An RFC 9457 problem (``type``, ``title``, ``status``, ``detail``: the sentence), ``error`` kept for old clients."""
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(status, "Error"), "status": status,
            "detail": message, "error": message, **extra}
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    return response


def error_json(message: str, status: int, **extra: object) -> Response:
    """A JSON error with one sentence (a problem+json document on ``/api/``)."""
    if request.path.startswith("/api/"):
        return problem_json(message, status, **extra)
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


def _has_nul() -> bool:
    if "\x00" in request.path or b"%00" in request.query_string or b"\x00" in request.query_string:
        return True
    if request.method in UNSAFE_METHODS and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True))
    return False


def session_expired(now: float | None = None) -> bool:
    """True when the session's login is older than ``SESSION_ABSOLUTE_LIFETIME`` (or its time is unknown)."""
    login_at = session.get(LOGIN_AT_KEY)
    if not isinstance(login_at, (int, float)) or isinstance(login_at, bool):
        return True
    return (time.time() if now is None else now) - login_at > SESSION_ABSOLUTE_LIFETIME.total_seconds()


def mark_login() -> None:
    """Start the absolute lifetime of the session that just logged in."""
    session[LOGIN_AT_KEY] = int(time.time())


def _bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header; "" for any other kind of Authorization."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _token_viewer(token: str) -> Any:
    from dashboard.deps import get_database
    from services.tokens import viewer_for_token

    with get_database().begin() as s:
        return viewer_for_token(s, token)


def _refuse_token(message: str) -> Response:
    response = error_json(message, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="studentperf"'
    return response


class Guard:
    """The single before-request check: public endpoints pass, everyone else must be a live user (or token, on the API)."""

    def __init__(self, public: Iterable[str], shell: Iterable[str]) -> None:
        self.public = frozenset(public)
        self.shell = frozenset(shell)

    def __call__(self) -> Response | None:
        """Run the check for the current request; a response ends the request."""
        if _has_nul():
            return error_json(NUL_BYTE, 400)
        if not _origin_ok():
            return error_json("Cross-site requests are refused.", 403)
        if request.endpoint in self.public:
            return None
        if request.path.startswith(API_PREFIX) and request.headers.get("Authorization") is not None:
            return self._with_token()
        refused = self._with_session()
        if refused is not None:
            return refused
        if request.path.startswith(API_PREFIX) and request.method in UNSAFE_METHODS and not csrf_ok(request.headers.get(CSRF_HEADER)):
            return error_json(CSRF_MISSING, 403)
        if request.path == CALLBACK_PATH and request.method == "POST":
            return _check_callback()
        return None

    def _with_session(self) -> Response | None:
        if not session.get("_user_id"):
            return _refuse_anonymous()
        if session_expired():
            logout_user()
            session.clear()
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

    def _with_token(self) -> Response | None:
        token = _bearer_token()
        if not token:
            return _refuse_token(BEARER_ONLY)
        try:
            viewer = _token_viewer(token)
        except DB_ERRORS:
            g.database_down = True
            return error_json(DB_DOWN, 503)
        if viewer is None:
            return _refuse_token(BAD_TOKEN)
        g.viewer = viewer
        g.by_token = True
        return None

    def _database_down(self) -> Response | None:
        g.database_down = True
        if request.endpoint in self.shell and request.method == "GET":
            return None  # the empty shell (no data) renders and shows the banner
        if wants_json():
            return error_json(DB_DOWN, 503)
        return Response(DB_DOWN, status=503, mimetype="text/plain")


def _check_callback() -> Response | None:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    dash_app = current_app.extensions.get(DASH_APP_KEY)
    try:
        check_callback_body(body, dash_app.callback_map if dash_app is not None else {})
    except BadCallback as exc:
        return error_json(str(exc), 400)
    return None


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


_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_DATA_TYPES = ("application/json", "text/template", "text/x-template")


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions (``'sha256-...'``) for every inline, executable script of ``html``."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(html):
        attrs = match.group("attrs").lower()
        if re.search(r"\bsrc\s*=", attrs) or any(kind in attrs for kind in _DATA_TYPES):
            continue
        digest = hashlib.sha256(match.group("body").encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(set(hashes))


def content_security_policy(script_hashes: Iterable[str]) -> str:
    """The policy: everything from this site only; scripts only from files here or inline ones with these hashes.

    Styles may be inline (Plotly and the React components set them); scripts may not: no ``unsafe-inline``,
    no ``unsafe-eval``.
    """
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(script_hashes),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def add_security_headers(server: Flask, settings: Settings, policy: str) -> None:
    """No framing, no sniffing, a CSP, HSTS when cookies are secure (HTTPS), no caching of anything behind the login."""

    @server.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", policy)
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if g.get("viewer") is not None or request.path.startswith(("/api/", "/_dash-update-component", "/login")):
            response.headers["Cache-Control"] = "no-store"
        return response


def endpoints_matching(server: Flask, predicate: Callable[[str], bool]) -> set[str]:
    """Endpoint names of the server's URL rules whose rule string satisfies ``predicate``."""
    return {rule.endpoint for rule in server.url_map.iter_rules() if predicate(rule.rule)}
