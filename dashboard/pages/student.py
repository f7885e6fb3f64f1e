"""Student profile (``/students/<student_id>``): weeks beside the class, the current risk and why, audited.

The id in the address is untrusted: it is parsed (not a whole number: a 404-style message) and the
service decides whether the viewer may see the student. Outside a teacher's classes the answer is the
same sentence as for an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from core.errors import DomainError, InvalidInput, NotFound
from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.cache import scoped_answer
from dashboard.components import risk as parts
from dashboard.components import workflow
from dashboard.components.list_url import back_href
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit, caseload, feedback, interventions, notes
from services.profile import student_profile
from services.scope import Viewer
from services.students import parse_student_id
from services.workflow import student_workflow

PATH_TEMPLATE = "/students/<student_id>"
dash.register_page(__name__, path_template=PATH_TEMPLATE, name="Student", title="Student profile", order=4)

MAX_RAW = 64


def layout(student_id: str | None = None, **query: str) -> html.Div:
    """A back link (to the exact list the profile was opened from), the raw id in a store, and the body to fill."""
    return html.Div(
        [
            dcc.Link("← Back to the at-risk list", href=back_href(query.get("back")), className="profile-back"),
            dcc.Store(id=ids.STUDENT_ID, data=None if student_id is None else str(student_id)[:MAX_RAW]),
            dcc.Loading(html.Div(id=ids.STUDENT_BODY, className="profile-body"), type="dot"),
            html.Div(workflow.panel(), id=ids.WF_AREA, hidden=True),
        ],
        id=ids.STUDENT_PAGE,
        className="analytics-page",
    )


def _record_view(session: Session, viewer: Viewer, student_id: int, found: bool) -> None:
    audit.record(session, action=audit.STUDENT_VIEW, user_id=viewer.user_id, actor=viewer.email, target=str(student_id),
                 details={"page": "profile", "found": found}, address=client_address())


@callback(Output(ids.STUDENT_BODY, "children"), Input(ids.STUDENT_ID, "data"))
def show_student(raw: Any) -> Any:
    """The profile of the student in the address, or one sentence when there is none for this viewer."""
    try:
        student_id = parse_student_id(raw)
    except InvalidInput as exc:
        return parts.not_found(str(exc))
    viewer = current_viewer()
    with read_session() as session:
        try:
            profile = scoped_answer(student_profile, session=session, viewer=viewer, student_id=student_id)
        except NotFound as exc:
            _record_view(session, viewer, student_id, found=False)
            return parts.not_found(str(exc))
        _record_view(session, viewer, student_id, found=True)
    return parts.profile_body(profile)


# --------------------------------------------------------------------------- support and follow-up (issue 10)

PANEL_OUTPUTS = (
    Output(ids.WF_AREA, "hidden"), Output(ids.WF_TIMELINE, "children"), Output(ids.WF_INTERVENTIONS, "children"),
    Output(ids.WF_NOTES, "children"), Output(ids.WF_FEEDBACK, "children"), Output(ids.WF_FB_FORM, "hidden"),
    Output(ids.WF_STAR, "children"), Output(ids.WF_INT_TYPE, "options"), Output(ids.WF_INT_OWNER, "options"),
    Output(ids.WF_INT_OWNER, "value"), Output(ids.WF_EDIT_WHICH, "options"), Output(ids.WF_NOTE_WHICH, "options"),
)


@callback(*PANEL_OUTPUTS, Input(ids.STUDENT_ID, "data"), Input(ids.WF_REFRESH, "data"))
def show_workflow(raw: Any, _refresh: Any) -> tuple[Any, ...]:
    """The panel of the student in the address (hidden when there is none for this viewer)."""
    try:
        student_id = parse_student_id(raw)
        viewer = current_viewer()
        with read_session() as session:
            wf = student_workflow(session=session, viewer=viewer, student_id=student_id)
    except (InvalidInput, NotFound):
        return (True, *([None] * 6), [], [], None, [], [])
    owners = workflow.choices(wf.owners)
    edits = workflow.choices([(i.id, f"{i.type.capitalize()} ({i.status}), from {i.start_date.isoformat()}")
                              for i in wf.interventions])
    return (False, workflow.timeline(wf), workflow.intervention_list(wf, dt.date.today()), workflow.note_list(wf),
            workflow.feedback_list(wf), wf.flagged_tier is None, workflow.STAR_ON if wf.starred else workflow.STAR_OFF,
            workflow.choices([(t, t.capitalize()) for t in wf.types]), owners,
            owners[0]["value"] if owners else None, edits,
            workflow.choices([(n.id, f"{n.occurred_on.isoformat()} {n.kind}: {n.body[:60]}") for n in wf.notes
                              if n.author_id == viewer.user_id or viewer.is_admin]))


def _act(n_clicks: Any, refresh: Any, change: Callable[[Session, Viewer], str]) -> tuple[Any, Any]:
    """Run one change in its own transaction: a confirmation and a refresh, or the error's sentence."""
    if not n_clicks:
        raise PreventUpdate
    viewer = current_viewer()
    try:
        with read_session() as session:
            done = change(session, viewer)
    except DomainError as exc:
        return html.Span(str(exc), className="text-danger"), dash.no_update
    count = refresh if isinstance(refresh, int) and not isinstance(refresh, bool) else 0
    return html.Span(done, className="text-success"), count + 1


def _student(raw: Any) -> int:
    try:
        return parse_student_id(raw)
    except InvalidInput:
        raise PreventUpdate from None


@callback(
    Output(ids.WF_INT_MESSAGE, "children"), Output(ids.WF_REFRESH, "data", allow_duplicate=True),
    Input(ids.WF_INT_ADD, "n_clicks"), State(ids.STUDENT_ID, "data"), State(ids.WF_INT_TYPE, "value"),
    State(ids.WF_INT_OWNER, "value"), State(ids.WF_INT_START, "value"), State(ids.WF_INT_REVIEW, "value"),
    State(ids.WF_INT_STATUS, "value"), State(ids.WF_INT_OUTCOME, "value"), State(ids.WF_REFRESH, "data"),
    prevent_initial_call=True,
)
def add_intervention(n_clicks: Any, raw: Any, kind: Any, owner: Any, start: Any, review: Any, status: Any,
                     outcome: Any, refresh: Any) -> tuple[Any, Any]:
    """Add the intervention of the form (the service checks the owner may see the student)."""
    student_id = _student(raw)
    data = {"type": kind, "owner_id": owner, "start_date": start, "next_review": review, "status": status,
            "outcome": outcome}

    def change(session: Session, viewer: Viewer) -> str:
        row = interventions.add_intervention(session=session, viewer=viewer, student_id=student_id, data=data,
                                             address=client_address())
        return f"Added: {row.type}, owner {row.owner}."

    return _act(n_clicks, refresh, change)


@callback(
    Output(ids.WF_EDIT_MESSAGE, "children"), Output(ids.WF_REFRESH, "data", allow_duplicate=True),
    Input(ids.WF_EDIT_SAVE, "n_clicks"), State(ids.WF_EDIT_WHICH, "value"), State(ids.WF_EDIT_STATUS, "value"),
    State(ids.WF_EDIT_REVIEW, "value"), State(ids.WF_EDIT_OUTCOME, "value"), State(ids.WF_REFRESH, "data"),
    prevent_initial_call=True,
)
def save_intervention(n_clicks: Any, which: Any, status: Any, review: Any, outcome: Any, refresh: Any) -> tuple[Any, Any]:
    """Change the chosen intervention's status, review date or outcome (only the fields filled in)."""
    changes = {k: v for k, v in (("status", status), ("next_review", review), ("outcome", outcome)) if v}

    def change(session: Session, viewer: Viewer) -> str:
        row = interventions.update_intervention(session=session, viewer=viewer, intervention_id=which,
                                                changes=changes, address=client_address())
        return f"Saved: {row.type} is {row.status}."

    return _act(n_clicks, refresh, change)


@callback(
    Output(ids.WF_NOTE_MESSAGE, "children"), Output(ids.WF_REFRESH, "data", allow_duplicate=True),
    Input(ids.WF_NOTE_ADD, "n_clicks"), State(ids.STUDENT_ID, "data"), State(ids.WF_NOTE_KIND, "value"),
    State(ids.WF_NOTE_DATE, "value"), State(ids.WF_NOTE_BODY, "value"), State(ids.WF_NOTE_OUTCOME, "value"),
    State(ids.WF_REFRESH, "data"), prevent_initial_call=True,
)
def add_note(n_clicks: Any, raw: Any, kind: Any, day: Any, body: Any, outcome: Any, refresh: Any) -> tuple[Any, Any]:
    """Add the note or contact of the form, dated and signed by the viewer."""
    student_id = _student(raw)
    data = {"kind": kind, "occurred_on": day, "body": body, "outcome": outcome}

    def change(session: Session, viewer: Viewer) -> str:
        row = notes.add_note(session=session, viewer=viewer, student_id=student_id, data=data,
                             address=client_address())
        return f"Added the {row.kind}."

    return _act(n_clicks, refresh, change)


@callback(
    Output(ids.WF_NOTE_EDIT_MESSAGE, "children"), Output(ids.WF_REFRESH, "data", allow_duplicate=True),
    Input(ids.WF_NOTE_SAVE, "n_clicks"), State(ids.WF_NOTE_WHICH, "value"), State(ids.WF_NOTE_NEW, "value"),
    State(ids.WF_REFRESH, "data"), prevent_initial_call=True,
)
def save_note(n_clicks: Any, which: Any, body: Any, refresh: Any) -> tuple[Any, Any]:
    """Correct one of the viewer's notes; the previous text is kept in the audit log."""

    def change(session: Session, viewer: Viewer) -> str:
        notes.edit_note(session=session, viewer=viewer, note_id=which, changes={"body": body},
                        address=client_address())
        return "Saved; the previous text is kept in the audit log."

    return _act(n_clicks, refresh, change)


@callback(
    Output(ids.WF_FB_MESSAGE, "children"), Output(ids.WF_REFRESH, "data", allow_duplicate=True),
    Input(ids.WF_FB_SEND, "n_clicks"), State(ids.STUDENT_ID, "data"), State(ids.WF_FB_VERDICT, "value"),
    State(ids.WF_FB_COMMENT, "value"), State(ids.WF_REFRESH, "data"), prevent_initial_call=True,
)
def send_feedback(n_clicks: Any, raw: Any, verdict: Any, comment: Any, refresh: Any) -> tuple[Any, Any]:
    """Record the viewer's feedback on the student's latest flag."""
    student_id = _student(raw)

    def change(session: Session, viewer: Viewer) -> str:
        row = feedback.give_feedback(session=session, viewer=viewer, student_id=student_id,
                                     data={"verdict": verdict, "comment": comment}, address=client_address())
        return f"Thank you: recorded \"{row.verdict}\"."

    return _act(n_clicks, refresh, change)


@callback(
    Output(ids.WF_INT_MESSAGE, "children", allow_duplicate=True), Output(ids.WF_REFRESH, "data", allow_duplicate=True),
    Input(ids.WF_STAR, "n_clicks"), State(ids.STUDENT_ID, "data"), State(ids.WF_REFRESH, "data"),
    prevent_initial_call=True,
)
def toggle_star(n_clicks: Any, raw: Any, refresh: Any) -> tuple[Any, Any]:
    """Star the student (they join "My students") or unstar them."""
    student_id = _student(raw)

    def change(session: Session, viewer: Viewer) -> str:
        now = not caseload.is_starred(session, viewer, student_id)
        caseload.set_star(session=session, viewer=viewer, student_id=student_id, starred=now, address=client_address())
        return "Added to my students." if now else "Removed from my students."

    return _act(n_clicks, refresh, change)
