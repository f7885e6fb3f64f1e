"""The workflow through the API: interventions, notes, flag feedback, stars, my caseload and my alerts.

Scoped like the pages (a student outside the viewer's scope gets the same 404 as a missing id) and every change
is one audit entry, written by the services. With a session cookie, a state-changing request needs the page's
CSRF token in ``X-CSRF-Token`` (checked by the guard in :mod:`dashboard.security`); a Bearer token needs none.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from core.errors import InvalidInput
from dashboard.api import api_bp
from dashboard.api.schemas import (
    Alerts,
    AlertsQuery,
    AlertsRead,
    Caseload,
    Feedback,
    FeedbackNew,
    Intervention,
    InterventionChanges,
    InterventionList,
    InterventionNew,
    Marked,
    Note,
    NoteChanges,
    NoteList,
    NoteNew,
    Preferences,
    PreferencesBody,
    Star,
    StarBody,
)
from dashboard.api.spec import documented
from dashboard.auth import current_viewer
from dashboard.deps import read_session
from dashboard.security import client_address
from services import alerts, caseload, digest, feedback, interventions, notes

NOT_JSON = "The request body must be a JSON object."
TAGS = ["workflow"]
READS = ("HTTP_401", "HTTP_404", "HTTP_429", "HTTP_503")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput(NOT_JSON)
    return data


def _created(payload: dict[str, Any]) -> Response:
    response = jsonify(payload)
    response.status_code = 201
    return response


@api_bp.get("/students/<int:student_id>/interventions")
@documented(resp={"HTTP_200": InterventionList}, errors=READS, tags=TAGS)
def list_interventions(student_id: int) -> Response:
    """A student's interventions, newest first, and the types a new one may have."""
    viewer = current_viewer()
    with read_session() as s:
        rows = interventions.list_interventions(session=s, viewer=viewer, student_id=student_id)
        types = interventions.intervention_types(s)
    return jsonify({"items": [r.to_dict() for r in rows], "types": types})


@api_bp.post("/students/<int:student_id>/interventions")
@documented(json=InterventionNew, resp={"HTTP_201": Intervention}, tags=TAGS)
def add_intervention(student_id: int) -> Response:
    """Add an intervention: ``type``, ``owner_id``, ``start_date``, ``next_review``, ``status``, ``outcome``."""
    viewer = current_viewer()
    data = _body()
    with read_session() as s:
        row = interventions.add_intervention(session=s, viewer=viewer, student_id=student_id, data=data,
                                             address=client_address())
    return _created(row.to_dict())


@api_bp.patch("/interventions/<int:intervention_id>")
@documented(json=InterventionChanges, resp={"HTTP_200": Intervention}, tags=TAGS)
def update_intervention(intervention_id: int) -> Response:
    """Change some fields of an intervention (its status, review date, outcome, owner...)."""
    viewer = current_viewer()
    data = _body()
    with read_session() as s:
        row = interventions.update_intervention(session=s, viewer=viewer, intervention_id=intervention_id,
                                                changes=data, address=client_address())
    return jsonify(row.to_dict())


@api_bp.get("/students/<int:student_id>/notes")
@documented(resp={"HTTP_200": NoteList}, errors=READS, tags=TAGS)
def list_notes(student_id: int) -> Response:
    """A student's case notes and contacts, newest first."""
    viewer = current_viewer()
    with read_session() as s:
        rows = notes.list_notes(session=s, viewer=viewer, student_id=student_id)
    return jsonify({"items": [r.to_dict() for r in rows]})


@api_bp.post("/students/<int:student_id>/notes")
@documented(json=NoteNew, resp={"HTTP_201": Note}, tags=TAGS)
def add_note(student_id: int) -> Response:
    """Add a note or contact: ``body``, ``kind`` (note, parent call, meeting, letter), ``occurred_on``, ``outcome``."""
    viewer = current_viewer()
    data = _body()
    with read_session() as s:
        row = notes.add_note(session=s, viewer=viewer, student_id=student_id, data=data, address=client_address())
    return _created(row.to_dict())


@api_bp.patch("/notes/<int:note_id>")
@documented(json=NoteChanges, resp={"HTTP_200": Note}, tags=TAGS)
def edit_note(note_id: int) -> Response:
    """Change a note (its author or an administrator); the previous text stays in the audit log."""
    viewer = current_viewer()
    data = _body()
    with read_session() as s:
        row = notes.edit_note(session=s, viewer=viewer, note_id=note_id, changes=data, address=client_address())
    return jsonify(row.to_dict())


@api_bp.post("/students/<int:student_id>/feedback")
@documented(json=FeedbackNew, resp={"HTTP_201": Feedback}, tags=TAGS)
def give_feedback(student_id: int) -> Response:
    """Feedback on a flag: ``verdict`` (not at risk, already supported, data is wrong) and a ``comment``."""
    viewer = current_viewer()
    data = _body()
    with read_session() as s:
        row = feedback.give_feedback(session=s, viewer=viewer, student_id=student_id, data=data,
                                     address=client_address())
    return _created(row.to_dict())


@api_bp.put("/students/<int:student_id>/star")
@documented(json=StarBody, resp={"HTTP_200": Star}, tags=TAGS)
def set_star(student_id: int) -> Response:
    """Star (``{"starred": true}``) or unstar a student: starred students join my caseload."""
    viewer = current_viewer()
    starred = _body().get("starred")
    if not isinstance(starred, bool):
        raise InvalidInput("starred must be true or false.")
    with read_session() as s:
        state = caseload.set_star(session=s, viewer=viewer, student_id=student_id, starred=starred,
                                  address=client_address())
    return jsonify({"student_id": student_id, "starred": state})


@api_bp.get("/me/caseload")
@documented(resp={"HTTP_200": Caseload}, errors=("HTTP_401", "HTTP_429", "HTTP_503"), tags=TAGS)
def my_caseload() -> Response:
    """My students: those whose open interventions I own and those I starred, with tier, next review, last note."""
    viewer = current_viewer()
    with read_session() as s:
        rows = caseload.caseload(session=s, viewer=viewer)
    return jsonify({"items": [r.to_dict() for r in rows], "total": len(rows)})


@api_bp.get("/me/alerts")
@documented(query=AlertsQuery, resp={"HTTP_200": Alerts}, errors=("HTTP_400", "HTTP_401", "HTTP_429", "HTTP_503"),
            tags=TAGS)
def my_alerts() -> Response:
    """My alerts (``unread=1``: only unread ones) and how many are unread."""
    viewer = current_viewer()
    unread_only = (request.args.get("unread") or "0") in ("1", "true", "yes")
    with read_session() as s:
        rows = alerts.alerts_for(session=s, viewer=viewer)
    shown = [a for a in rows if not (unread_only and a.read)]
    return jsonify({"items": [a.to_dict() for a in shown], "unread": sum(not a.read for a in rows)})


@api_bp.post("/me/alerts/read")
@documented(json=AlertsRead, resp={"HTTP_200": Marked}, tags=TAGS)
def mark_alerts_read() -> Response:
    """Mark alerts read: ``{"keys": [...]}`` or ``{"all": true}``."""
    viewer = current_viewer()
    data = _body()
    keys = "all" if data.get("all") is True else data.get("keys")
    with read_session() as s:
        marked = alerts.mark_read(session=s, viewer=viewer, keys=keys, address=client_address())
    return jsonify({"marked": marked})


@api_bp.put("/me/preferences")
@documented(json=PreferencesBody, resp={"HTTP_200": Preferences}, tags=TAGS)
def my_preferences() -> Response:
    """Turn my weekly e-mail digest on or off: ``{"digest": false}``."""
    viewer = current_viewer()
    data = _body()
    with read_session() as s:
        enabled = digest.set_digest(session=s, viewer=viewer, enabled=data.get("digest"), address=client_address())
    return jsonify({"digest": enabled})
