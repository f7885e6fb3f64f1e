"""The overview's segments view: students per combination of indicators, each row a link to the filtered list."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html

from dashboard.components.list_url import LIST_PATH
from services.filters import to_query
from services.indicators import ICONS, Segment, Segments, share_words
from services.scope import Filters

DATE_KEYS = ("from", "to")  # the at-risk list uses all the data to date: the week range is left out of its link


def segment_href(filters: Filters, segment: Segment) -> str:
    """The at-risk list of exactly this segment's students, within the same filters."""
    query = {k: v for k, v in to_query(filters).items() if k not in DATE_KEYS}
    return LIST_PATH + "?" + urlencode({**query, "ind": segment.filter_value})


def _name(segment: Segment) -> list[str | html.Span]:
    if not segment.keys:
        return ["No indicator"]
    return [html.Span(" ".join(ICONS[k] for k in segment.keys) + " ", **{"aria-hidden": "true"}), segment.words]


def _row(filters: Filters, segment: Segment) -> html.Tr:
    score = "–" if segment.mean_score is None else f"{segment.mean_score:.1f}"
    small = "" if segment.comparable else " (small group)"
    return html.Tr([
        html.Td(dcc.Link(_name(segment), href=segment_href(filters, segment), className="segment-link")),
        html.Td(f"{segment.n:,}{small}", className="text-end"),
        html.Td(share_words(segment.pass_rate), className="text-end"),
        html.Td(score, className="text-end"),
    ], className="segment-row")


def segments_table(result: Segments, filters: Filters) -> list[html.Div | html.Table | html.P | html.H3]:
    """The segments panel: a title, one row per combination (a link to that list), and the note on the rules."""
    head = html.Thead(html.Tr([html.Th("Indicators (open the list)"), html.Th("Students", className="text-end"),
                               html.Th(f"Pass rate (≥ {result.pass_mark:g})", className="text-end"),
                               html.Th("Mean score", className="text-end")]))
    body = html.Tbody([_row(filters, s) for s in result.items])
    return [html.H3("Students by indicators", className="panel-title"),
            html.Table([head, body], className="table table-sm segments-table"),
            html.P(result.note, className="stats-note")]
