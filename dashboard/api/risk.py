"""``GET /api/v1/risk`` (the scoped at-risk list, paged) and ``GET /api/v1/students/<id>/explanation`` (404 outside scope)."""

from __future__ import annotations

from flask import Response, jsonify, request

from core.errors import InvalidInput
from dashboard.api import api_bp, int_arg
from dashboard.auth import current_viewer
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit
from services.at_risk import DEFAULT_LIMIT, explain_student, risk_table
from services.filters import parse_filters

ORDERS = ("desc", "asc")
FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


def _order() -> bool:
    order = (request.args.get("order") or "desc").lower()
    if order not in ORDERS:
        raise InvalidInput(f"order must be asc or desc, not {order[:20]!r}.")
    return order == "desc"


def _flag(name: str) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw not in FLAGS:
        raise InvalidInput(f"{name} must be 1 or 0, not {raw[:20]!r}.")
    return FLAGS[raw]


def _whole(name: str, default: int) -> int:
    value = int_arg(name, default)
    return default if value is None else value


@api_bp.get("/risk")
def risk_list() -> Response:
    """A page of the viewer's scored students (the latest scoring run, its stored tiers and cut-offs).

    Query keys: ``tier``, ``limit``, ``offset``, ``sort``, ``order``, ``rose`` (1: only students whose risk rose
    since the model's previous run) and the filter bar's keys. Each item carries ``probability``, ``low`` and
    ``high`` (the interval), ``risk`` (the same in words) and ``change`` (since the previous run, in words).
    """
    viewer = current_viewer()
    with read_session() as s:
        filters = parse_filters(request.args.to_dict(), session=s, strict=True).filters
        table = risk_table(
            session=s, viewer=viewer, filters=filters, tier=request.args.get("tier") or None,
            sort=request.args.get("sort") or "probability", descending=_order(),
            limit=_whole("limit", DEFAULT_LIMIT), offset=_whole("offset", 0), rose=_flag("rose"),
        )
    return jsonify({
        "items": [row.to_dict() for row in table.items], "total": table.total, "limit": table.limit,
        "offset": table.offset, "model_version": table.model_version, "tier_counts": table.tier_counts,
        "as_of": table.run.as_of.isoformat(), "cutoffs": {"high": table.run.high, "low": table.run.low},
        "method": table.run.method, "threshold": table.run.threshold, "previous_run_id": table.run.previous_id,
    })


@api_bp.get("/students/<int:student_id>/explanation")
def explanation(student_id: int) -> Response:
    """One student's stored score and tier and the exact SHAP explanation in plain words; the view is audited."""
    viewer = current_viewer()
    with read_session() as s:
        result = explain_student(session=s, viewer=viewer, student_id=student_id)
        audit.record(s, action=audit.STUDENT_VIEW, user_id=viewer.user_id, actor=viewer.email, target=str(student_id),
                     details={"page": "api", "what": "explanation"}, address=client_address())
    return jsonify(result.to_dict())
