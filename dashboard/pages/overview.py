"""Overview (``/``): KPI cards, the score distribution and weekly trends of the filtered scope."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from flask import current_app

from dashboard import ids
from dashboard.components import filter_bar
from dashboard.components.empty import graph
from dashboard.components.kpi import kpi_cards
from dashboard.components.segments import segments_table
from dashboard.deps import SETTINGS_KEY
from dashboard.figures.overview import TRENDS_NOTE, score_histogram, weekly_trends
from services.filters import to_search
from services.indicators import segments
from services.overview import kpi_summary, score_distribution
from services.overview import weekly_trends as trends_service

PATH = "/"
REPORT_PATH = "/reports/school.pdf"  # served by dashboard.reports (a Flask route: the PDF of the current filters)
dash.register_page(__name__, path=PATH, name="Overview", title="Overview", order=0)
filter_bar.register_callbacks()  # the bar is shared by every analytics page; its callbacks live once per app


def _panel(container_id: str) -> dbc.Card:
    return dbc.Card(dbc.CardBody(dcc.Loading(html.Div(id=container_id), type="dot")), className="analytics-panel h-100")


def layout(**query: str) -> html.Div:
    """The page for this request: the filter bar from the query string, then empty containers the callbacks fill."""
    return html.Div(
        [
            html.H2("Overview", className="page-title"),
            filter_bar.filter_bar(query, PATH),
            dcc.Loading(html.Div(id=ids.OVERVIEW_KPIS, className="kpi-area"), type="dot"),
            dbc.Row(
                [dbc.Col(_panel(ids.OVERVIEW_DISTRIBUTION), xs=12, lg=6), dbc.Col(_panel(ids.OVERVIEW_TRENDS), xs=12, lg=6)],
                className="g-3 mt-1",
            ),
            dbc.Row(dbc.Col(_panel(ids.OVERVIEW_SEGMENTS), xs=12), className="g-3 mt-1"),
            html.Div(html.A("Download report", id=ids.OVERVIEW_REPORT, href=report_href(query),
                            className="btn btn-outline-primary btn-sm"), className="mt-3 overview-report"),
        ],
        id=ids.OVERVIEW_PAGE,
        className="analytics-page",
    )


def report_href(query: dict[str, str]) -> str:
    """The school report's address for the filters in the page's address (validated again by the server)."""
    return REPORT_PATH + ("?" + urlencode(query) if query else "")


def _pass_threshold() -> float:
    settings = current_app.extensions.get(SETTINGS_KEY)
    return float(getattr(settings, "pass_threshold", 60.0))


@callback(Output(ids.OVERVIEW_KPIS, "children"), Input(ids.FILTER_QUERY, "data"))
def update_kpis(query: str | None) -> object:
    """KPI cards of the filtered scope."""
    summary = filter_bar.ask(kpi_summary, query, pass_threshold=_pass_threshold())
    return filter_bar.no_match(ids.OVERVIEW_KPIS) if summary.empty else kpi_cards(summary)


@callback(Output(ids.OVERVIEW_DISTRIBUTION, "children"), Input(ids.FILTER_QUERY, "data"))
def update_distribution(query: str | None) -> object:
    """Histogram of the latest scores with the skewness note."""
    dist = filter_bar.ask(score_distribution, query)
    if dist.empty:
        return filter_bar.no_match(ids.OVERVIEW_DISTRIBUTION)
    figure = score_histogram(dist.bins, pass_threshold=_pass_threshold(), median=dist.median)
    return [graph(ids.OVERVIEW_DISTRIBUTION_GRAPH, figure), html.P(dist.note, className="stats-note")]


@callback(Output(ids.OVERVIEW_TRENDS, "children"), Input(ids.FILTER_QUERY, "data"))
def update_trends(query: str | None) -> object:
    """Weekly attendance and score lines."""
    trends = filter_bar.ask(trends_service, query)
    if trends.empty:
        return filter_bar.no_match(ids.OVERVIEW_TRENDS)
    return [graph(ids.OVERVIEW_TRENDS_GRAPH, weekly_trends(trends.frame)), html.P(TRENDS_NOTE, className="stats-note")]


@callback(Output(ids.OVERVIEW_SEGMENTS, "children"), Output(ids.OVERVIEW_REPORT, "href"), Input(ids.FILTER_QUERY, "data"))
def update_segments(query: str | None) -> tuple[object, str]:
    """Students per combination of indicators (each a link to that list), and the report link for these filters."""
    result = filter_bar.ask(segments, query, pass_threshold=_pass_threshold())
    href = REPORT_PATH + to_search(filter_bar.read_filters(query))
    if result.empty:
        return filter_bar.no_match(ids.OVERVIEW_SEGMENTS), href
    return segments_table(result, filter_bar.read_filters(query)), href
