"""The at-risk list (``/at-risk``, JSON or CSV; ``/risk`` its older name) and one student's risk, history and reasons.

Every answer comes from the active model's latest scoring run (its stored tiers and cut-offs); every read is
audited, and a look-up outside the scope answers 404 like a missing id and is audited as denied.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from dashboard.api import api_bp, paging
from dashboard.api.auditing import denied_audited, record_list, record_view
from dashboard.api.schemas import Explanation, RiskHistory, RiskList, RiskQuery, StudentRisk, parse_query
from dashboard.api.spec import documented
from dashboard.auth import current_viewer
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit
from services.at_risk import explain_student, export_risk_csv, risk_history, risk_table, student_risk
from services.filters import parse_filters, to_query
from services.scope import Filters, Viewer
from services.students import StudentInScope, require_in_scope

TAGS = ["risk"]
CSV = "text/csv"
CSV_ROSE = "rose=1 is not available for the CSV export: it lists every matching student."


def _filters(session: Session) -> Filters:
    return parse_filters(request.args.to_dict(), session=session, strict=True).filters


def _wants_csv() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", CSV], default="application/json")
    return best == CSV and request.accept_mimetypes[CSV] > request.accept_mimetypes["application/json"]


def _risk_json(query: RiskQuery) -> Response:
    viewer = current_viewer()
    with read_session() as s:
        filters = _filters(s)
        table = risk_table(session=s, viewer=viewer, filters=filters, tier=query.tier, sort=query.sort,
                           descending=query.order == "desc", limit=query.limit, offset=query.start(), rose=query.rose)
        record_list(s, viewer, what="at-risk", rows=len(table.items),
                    filters={**to_query(filters), **query.model_dump(exclude_defaults=True, exclude_none=True,
                                                                      mode="json", include={"tier", "rose", "sort"})})
    more = {"page": table.offset // table.limit + 2} if query.page is not None else {"offset": table.offset + table.limit}
    return jsonify({
        "items": [row.to_dict() for row in table.items], **paging(table.total, table.limit, table.offset, more),
        "model_version": table.model_version, "tier_counts": table.tier_counts,
        "as_of": table.run.as_of.isoformat(), "cutoffs": {"high": table.run.high, "low": table.run.low},
        "method": table.run.method, "threshold": table.run.threshold, "previous_run_id": table.run.previous_id,
    })


def _risk_csv(query: RiskQuery) -> Response:
    if query.rose:
        raise InvalidInput(CSV_ROSE)
    viewer = current_viewer()
    with read_session() as s:
        filters = _filters(s)
        export = export_risk_csv(session=s, viewer=viewer, filters=filters, tier=query.tier, sort=query.sort,
                                 descending=query.order == "desc")
        details = {"format": "csv", "rows": export.rows, "tier": query.tier, "filters": to_query(filters), "page": "api"}
        audit.record(s, action=audit.EXPORT, user_id=viewer.user_id, actor=viewer.email, target="at-risk list",
                     details=details, address=client_address())
    name = "_".join(["at-risk", *(f"{k}-{v}" for k, v in to_query(filters).items()), export.as_of.isoformat()])
    response = Response(export.text, mimetype=CSV, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]+", "-", name)}.csv"'
    return response


@api_bp.get("/at-risk")
@documented(query=RiskQuery, resp={"HTTP_200": RiskList}, tags=TAGS)
def at_risk() -> Response:
    """A page of your scored students, as the at-risk page lists them; every row as CSV with ``Accept: text/csv``.

    The filter bar's keys, ``tier``, ``rose`` (1: only students whose risk rose since the model's previous run),
    ``sort``, ``order`` and ``page`` (or ``offset``) with ``limit``. Each item carries ``probability``, ``low``
    and ``high`` (the interval), ``risk`` (the same in words) and ``change`` (since the previous run, in words).
    """
    query = parse_query(RiskQuery)
    return _risk_csv(query) if _wants_csv() else _risk_json(query)


@api_bp.get("/risk")
@documented(query=RiskQuery, resp={"HTTP_200": RiskList}, tags=TAGS)
def risk_list() -> Response:
    """The at-risk list as JSON (the older address of ``/at-risk``)."""
    return _risk_json(parse_query(RiskQuery))


def _checked(s: Session, viewer: Viewer, student_id: int, what: str) -> StudentInScope:
    student = denied_audited(viewer, student_id, what, lambda: require_in_scope(s, viewer, student_id))
    record_view(s, viewer, student_id, what=what)
    return student


def _risk_dict(student_id: int, row: Any, note: str | None) -> dict[str, Any]:
    return {"student_id": student_id, "risk": row.to_dict() if row is not None else None, "note": note}


@api_bp.get("/students/<int:student_id>/risk")
@documented(resp={"HTTP_200": StudentRisk}, tags=TAGS)
def student_risk_view(student_id: int) -> Response:
    """One student's stored risk in the latest scoring run (``risk`` null with a ``note`` when there is none)."""
    viewer = current_viewer()
    with read_session() as s:
        result = student_risk(s, _checked(s, viewer, student_id, "risk"), explain=False)
    return jsonify(_risk_dict(student_id, result.row, result.note))


@api_bp.get("/students/<int:student_id>/risk/history")
@documented(resp={"HTTP_200": RiskHistory}, tags=TAGS)
def student_risk_history(student_id: int) -> Response:
    """One student's stored risk in every kept run of the active model, oldest first, and when first flagged High."""
    viewer = current_viewer()
    with read_session() as s:
        history = risk_history(s, _checked(s, viewer, student_id, "risk history"))
    points = [{"run_id": p.run_id, "as_of": p.as_of.isoformat(), "scored_at": p.scored_at.isoformat(),
               "probability": p.probability, "low": p.low, "high": p.high, "tier": p.tier, "risk": p.words}
              for p in history.points]
    first = history.first_high.isoformat() if history.first_high else None
    return jsonify({"student_id": student_id, "points": points, "first_high": first, "sentence": history.sentence})


@api_bp.get("/students/<int:student_id>/explanation")
@documented(resp={"HTTP_200": Explanation}, tags=TAGS)
def explanation(student_id: int) -> Response:
    """One student's stored score and tier and the exact SHAP explanation in plain words; the view is audited."""
    viewer = current_viewer()
    with read_session() as s:
        _checked(s, viewer, student_id, "explanation")
        result = explain_student(session=s, viewer=viewer, student_id=student_id)
    return jsonify(result.to_dict())
