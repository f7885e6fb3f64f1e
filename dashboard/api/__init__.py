"""REST API ``/api/v1``: JSON in, JSON out (problem+json for errors), a session or an API token (the same guard).

Described by an OpenAPI document at ``/api/v1/openapi.json`` (:mod:`dashboard.api.spec`), rate-limited per user
(:mod:`dashboard.api.limits`); every read of student-level data is audited (:mod:`dashboard.api.auditing`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from core.errors import InvalidInput
from core.settings import Settings
from dashboard.security import error_json

PREFIX = "/api/v1"
api_bp = Blueprint("api", __name__, url_prefix=PREFIX)


def int_arg(name: str, default: int | None) -> int | None:
    """A whole-number query parameter, or InvalidInput with a sentence naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {raw!r}.") from None


def next_link(total: int, limit: int, offset: int, replace: dict[str, object]) -> str | None:
    """The address of the page after ``offset`` (the request's own query with the new page), or None at the end."""
    if offset + limit >= total:
        return None
    query = {key: request.args.get(key) for key in request.args} | {key: str(value) for key, value in replace.items()}
    return f"{request.path}?{urlencode(query)}"


def paging(total: int, limit: int, offset: int, replace: dict[str, object]) -> dict[str, object]:
    """``total``, ``limit``, ``offset``, ``page``, ``pages`` and ``next`` (the query with ``replace``) of a list."""
    return {
        "total": total, "limit": limit, "offset": offset, "page": offset // limit + 1,
        "pages": max(1, -(-total // limit)), "next": next_link(total, limit, offset, replace),
    }


def register_api(server: Flask, settings: Settings) -> None:
    """Mount the API, its document and docs page, its rate limit; unknown ``/api/...`` addresses get a 404 problem."""
    from dashboard.api import analytics, ingest, me, risk, students, workflow  # noqa: F401  (routes register on import)
    from dashboard.api.limits import install_limiter
    from dashboard.api.spec import docs_bp

    server.register_blueprint(api_bp)
    server.register_blueprint(docs_bp)
    install_limiter(server, settings, (api_bp, docs_bp))

    @server.route("/api/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(_rest: str) -> Response:
        allowed = _allowed_methods(server)
        if allowed:
            response = error_json(f"This address accepts only {', '.join(allowed)}.", 405)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_json("There is no such API endpoint.", 404)


def _allowed_methods(server: Flask) -> list[str]:
    """The methods another API route accepts at this request's path (empty: no route has the path)."""
    adapter = server.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api_not_found":
            allowed.append(method)
    return allowed
