"""Sports (``/effects/sports``): scores and attendance by participation level, with tests and effect sizes."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from dashboard import ids
from dashboard.components import filter_bar
from dashboard.components.empty import graph
from dashboard.components.stats import sports_stats
from dashboard.figures.effects import level_boxes
from services.effects import sports_effect

PATH = "/effects/sports"
dash.register_page(__name__, path=PATH, name="Sports", title="Sports", order=2)


def layout(**query: str) -> html.Div:
    """The filter bar from the query string, the two box plots and the statistics."""
    boxes = dbc.Card(dbc.CardBody(dcc.Loading(html.Div(id=ids.SPORTS_BOXES), type="dot")), className="analytics-panel")
    stats = dbc.Card(dbc.CardBody(dcc.Loading(html.Div(id=ids.SPORTS_STATS), type="dot")), className="analytics-panel stats-panel mt-3")
    return html.Div(
        [html.H2("Sports participation", className="page-title"), filter_bar.filter_bar(query, PATH), boxes, stats],
        id=ids.SPORTS_PAGE,
        className="analytics-page",
    )


@callback(Output(ids.SPORTS_BOXES, "children"), Output(ids.SPORTS_STATS, "children"), Input(ids.FILTER_QUERY, "data"))
def update_sports(query: str | None) -> tuple[object, object]:
    """Box plots of score and attendance per level, and Welch / ANOVA / Kruskal-Wallis with effect sizes."""
    effect = filter_bar.ask(sports_effect, query)
    if effect.empty:
        return filter_bar.no_match(ids.SPORTS_BOXES), filter_bar.no_match(ids.SPORTS_STATS)
    score = level_boxes(effect.boxes[effect.boxes.metric == "score"], title="Latest score", unit="points")
    attendance = level_boxes(effect.boxes[effect.boxes.metric == "attendance"], title="Attendance", unit="%", scale=100.0)
    charts = dbc.Row([dbc.Col(graph(ids.SPORTS_SCORE_GRAPH, score), xs=12, lg=6),
                      dbc.Col(graph(ids.SPORTS_ATTENDANCE_GRAPH, attendance), xs=12, lg=6)], className="g-3")
    return charts, sports_stats(effect)
