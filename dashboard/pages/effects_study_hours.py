"""Study hours (``/effects/study-hours``): scores against study hours, medians per band, correlations."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from dashboard import ids
from dashboard.components import filter_bar
from dashboard.components.empty import graph
from dashboard.components.stats import study_stats
from dashboard.figures.effects import band_medians, study_heatmap
from services.effects import study_hours_effect, study_hours_grid

PATH = "/effects/study-hours"
dash.register_page(__name__, path=PATH, name="Study hours", title="Study hours", order=1)


def _panel(container_id: str, lg: int = 6, extra: str = "") -> dbc.Col:
    card = dbc.Card(dbc.CardBody(dcc.Loading(html.Div(id=container_id), type="dot")), className=f"analytics-panel h-100 {extra}".strip())
    return dbc.Col(card, xs=12, lg=lg)


def layout(**query: str) -> html.Div:
    """The filter bar from the query string, then the heatmap, the band medians and the statistics."""
    return html.Div(
        [
            html.H2("Study hours and scores", className="page-title"),
            filter_bar.filter_bar(query, PATH),
            dbc.Row([_panel(ids.STUDY_SCATTER), _panel(ids.STUDY_BANDS)], className="g-3"),
            dbc.Row([_panel(ids.STUDY_STATS, lg=12, extra="stats-panel")], className="g-3 mt-1"),
        ],
        id=ids.STUDY_PAGE,
        className="analytics-page",
    )


@callback(Output(ids.STUDY_SCATTER, "children"), Input(ids.FILTER_QUERY, "data"))
def update_heatmap(query: str | None) -> object:
    """Students per (study hours, score) cell, counted in SQL."""
    grid = filter_bar.ask(study_hours_grid, query)
    if grid.empty:
        return filter_bar.no_match(ids.STUDY_SCATTER)
    figure = study_heatmap(grid.cells, hours_width=grid.hours_width, hours_max=grid.hours_max, score_width=grid.score_width)
    return graph(ids.STUDY_SCATTER_GRAPH, figure)


@callback(Output(ids.STUDY_BANDS, "children"), Output(ids.STUDY_STATS, "children"), Input(ids.FILTER_QUERY, "data"))
def update_effect(query: str | None) -> tuple[object, object]:
    """Median score per study band, and the correlations with their caption."""
    effect = filter_bar.ask(study_hours_effect, query)
    if effect.empty:
        return filter_bar.no_match(ids.STUDY_BANDS), filter_bar.no_match(ids.STUDY_STATS)
    return graph(ids.STUDY_BANDS_GRAPH, band_medians(effect.bands)), study_stats(effect)
