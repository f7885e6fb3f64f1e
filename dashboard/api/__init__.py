"""REST API ``/api/v1``: JSON in, JSON out, authenticated by the session cookie (the same guard)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from core.errors import InvalidInput
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


def register_api(server: Flask) -> None:
    """Mount the API and answer unknown ``/api/...`` addresses with JSON 404 (not the Dash page)."""
    from dashboard.api import me, risk, students, workflow  # noqa: F401  (routes register on import)

    server.register_blueprint(api_bp)

    @server.route("/api/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(_rest: str) -> Response:
        return error_json("There is no such API endpoint.", 404)
