"""The empty state shown wherever no student matches the filters."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.figures.theme import GRAPH_CONFIG

NO_MATCH = "No students match these filters"
HINT = "Widen the filters or reset them."


def empty_state(container_id: str, message: str = NO_MATCH, hint: str = HINT) -> html.Div:
    """A quiet box with one sentence and a hint; its id is ``<container_id>-empty``."""
    return html.Div(
        [html.P(message, className="empty-state-title"), html.P(hint, className="empty-state-hint")],
        id=f"{container_id}-empty",
        className=ids.EMPTY_STATE_CLASS,
        role="status",
    )


def graph(graph_id: str, figure: object) -> dcc.Graph:
    """A responsive graph; its toolbar (download as PNG, reset zoom) shows only on hover."""
    return dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG, className="analytics-graph")
