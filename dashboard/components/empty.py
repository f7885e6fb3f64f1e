"""The empty state shown wherever no student matches the filters."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids

NO_MATCH = "No students match these filters"


def empty_state(container_id: str, message: str = NO_MATCH, hint: str = "Widen the filters or reset them.") -> html.Div:
    """A quiet box with one sentence and a hint; its id is ``<container_id>-empty``."""
    return html.Div(
        [html.P(message, className="empty-state-title"), html.P(hint, className="empty-state-hint")],
        id=f"{container_id}-empty",
        className=ids.EMPTY_STATE_CLASS,
        role="status",
    )


def graph(graph_id: str, figure: object) -> dcc.Graph:
    """A responsive graph without the plotly logo."""
    return dcc.Graph(id=graph_id, figure=figure, config={"displaylogo": False, "responsive": True}, className="analytics-graph")
