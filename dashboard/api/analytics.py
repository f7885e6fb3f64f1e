"""``GET /api/v1/kpis``: the Overview's headline numbers for the filter bar's filters (cached, like the page)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Response, current_app, jsonify, request

from dashboard.api import api_bp
from dashboard.api.schemas import FilterQuery, Kpis, parse_query
from dashboard.api.spec import documented
from dashboard.auth import current_viewer
from dashboard.cache import shared_answer
from dashboard.deps import SETTINGS_KEY, read_session
from services.filters import parse_filters, to_query
from services.overview import kpi_summary


@api_bp.get("/kpis")
@documented(query=FilterQuery, resp={"HTTP_200": Kpis}, errors=("HTTP_400", "HTTP_401", "HTTP_429", "HTTP_503"),
            tags=["analytics"])
def kpis() -> Response:
    """Students, mean and median score, pass rate, attendance, chronic absence and the share at high risk.

    Query keys are the filter bar's (as in the dashboard's addresses): ``school``, ``grade``, ``class``, ``from``,
    ``to``, ``study`` and ``att``. Shares are fractions 0-1, null when undefined (no student, or nobody scored).
    """
    parse_query(FilterQuery)
    viewer = current_viewer()
    threshold = current_app.extensions[SETTINGS_KEY].pass_threshold
    with read_session() as s:
        filters = parse_filters(request.args.to_dict(), session=s, strict=True).filters
        summary = shared_answer(kpi_summary, session=s, viewer=viewer, filters=filters, pass_threshold=threshold)
    return jsonify({**asdict(summary), "filters": to_query(filters)})
