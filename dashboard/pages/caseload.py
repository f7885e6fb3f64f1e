"""My students (``/caseload``): the students whose open interventions I own and the ones I starred, with their tier,
next review and last note."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.components.risk import tier_badge
from dashboard.deps import read_session
from services.caseload import CaseloadRow, caseload
from services.indicators import words_of

PATH = "/caseload"
dash.register_page(__name__, path=PATH, name="My students", title="My students", order=5)

EMPTY = ("No students here yet: star a student on their profile, or own one of their interventions, and they "
         "appear here.")


def layout(**_query: str) -> html.Div:
    """The title and the table, filled once the page loads."""
    return html.Div(
        [html.H2("My students", className="page-title"),
         html.P("Students whose interventions you own, and the ones you starred.", className="risk-caption"),
         dcc.Store(id=ids.CASELOAD_LOAD, data=0),
         dcc.Loading(html.Div(id=ids.CASELOAD_BODY), type="dot")],
        id=ids.CASELOAD_PAGE, className="analytics-page",
    )


def _when(row: CaseloadRow) -> str:
    return row.next_review.isoformat() if row.next_review else "–"


def _row(row: CaseloadRow) -> html.Tr:
    why = ", ".join(w for w, on in (("owner", row.owned), ("starred", row.starred)) if on)
    note = f"{row.last_note_on.isoformat()}: {row.last_note}" if row.last_note and row.last_note_on else "–"
    return html.Tr([
        html.Td(dcc.Link(f"{row.name or 'Unnamed'} ({row.source_id})", href=f"/students/{row.student_id}")),
        html.Td(row.class_name or "–"), html.Td(tier_badge(row.tier) if row.tier else "not scored"),
        html.Td(words_of(row.indicators), className="small"), html.Td(_when(row)), html.Td(note[:160], className="small"), html.Td(why, className="small"),
    ], className="caseload-row")


@callback(Output(ids.CASELOAD_BODY, "children"), Input(ids.CASELOAD_LOAD, "data"))
def show_caseload(_load: Any) -> Any:
    """The viewer's caseload as a table, or a sentence saying how to fill it."""
    with read_session() as session:
        rows = caseload(session=session, viewer=current_viewer())
    if not rows:
        return html.P(EMPTY, className="empty-state", role="status")
    head = html.Thead(html.Tr([html.Th(h) for h in ("Student", "Class", "Tier", "Indicators", "Next review", "Last note",
                                                        "Why")]))
    return dbc.Table([head, html.Tbody([_row(r) for r in rows])], hover=True, responsive=True, size="sm",
                     className="caseload-table")
