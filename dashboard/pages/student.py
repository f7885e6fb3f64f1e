"""Student profile (``/students/<student_id>``): weeks beside the class, the current risk and why, audited.

The id in the address is untrusted: it is parsed (not a whole number: a 404-style message) and the
service decides whether the viewer may see the student. Outside a teacher's classes the answer is the
same sentence as for an id that does not exist.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.components import risk as parts
from dashboard.components.list_url import back_href
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit
from services.profile import student_profile
from services.scope import Viewer
from services.students import parse_student_id

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
            profile = student_profile(session=session, viewer=viewer, student_id=student_id)
        except NotFound as exc:
            _record_view(session, viewer, student_id, found=False)
            return parts.not_found(str(exc))
        _record_view(session, viewer, student_id, found=True)
    return parts.profile_body(profile)
