"""Errors translated once at the HTTP edge: a status and one sentence, JSON or a small page, never a traceback."""

from __future__ import annotations

import logging

from dash.exceptions import DependencyException
from flask import Flask, Response, current_app, render_template
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError, Forbidden, InvalidInput, NotFound, TooLarge, Unavailable
from dashboard.deps import SETTINGS_KEY
from dashboard.security import DB_DOWN, error_json, wants_json
from services.uploads import too_large
from services.users import TooManyAttempts

log = logging.getLogger("studentperf.web")

OUT_OF_RANGE = "A value in the request is out of range."
STATUS = {NotFound: 404, Forbidden: 403, TooLarge: 413, InvalidInput: 400, Unavailable: 503, TooManyAttempts: 429}
SENTENCES = {
    400: "The request is malformed.",
    401: "Log in to use this.",
    403: "You may not do this.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    415: "The request body must be JSON.",
    429: "Too many requests: wait a little and try again.",
    500: "Something went wrong on our side; it was logged.",
    503: DB_DOWN,
}


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain error."""
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 400


def error_response(message: str, status: int) -> Response:
    """One sentence as JSON (API, Dash, non-GET) or as a small HTML page."""
    if wants_json():
        return error_json(message, status)
    html = render_template("error.html", message=message, status=status)
    return Response(html, status=status, mimetype="text/html")


def register_error_handlers(server: Flask) -> None:
    """Domain errors -> 4xx/503, HTTP errors -> their sentence, anything else -> 500 logged."""

    @server.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return error_response(str(exc) or SENTENCES.get(status_of(exc), ""), status_of(exc))

    @server.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        return error_response(SENTENCES.get(status, exc.name + "."), status)

    @server.errorhandler(413)
    def _too_large(_exc: HTTPException) -> Response:
        # a body over MAX_CONTENT_LENGTH (the API's file, the upload page's callback): the sentence names the limit
        return error_response(too_large(current_app.extensions[SETTINGS_KEY].upload_max_mb), 413)

    @server.errorhandler(DependencyException)
    def _no_such_resource(_exc: DependencyException) -> Response:
        return error_response(SENTENCES[404], 404)  # a component-suite path Dash never registered

    for db_error in (OperationalError, InterfaceError):
        server.register_error_handler(db_error, _database_down)

    @server.errorhandler(DataError)
    def _out_of_range(exc: DataError) -> Response:
        log.info("value refused by the database: %s", type(getattr(exc, "orig", exc)).__name__)
        return error_response(OUT_OF_RANGE, 400)  # e.g. a number beyond the column's range, from the request

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(SENTENCES[500], 500)


def _database_down(exc: Exception) -> Response:
    log.warning("database unreachable: %s", type(exc).__name__)
    return error_response(DB_DOWN, 503)
