"""At risk (``/at-risk``): every scored student of the viewer's scope, one page at a time, and a CSV export.

The list's state lives in the URL: the filters, then ``tier``, ``ind`` (an indicator filter of
:mod:`services.indicators`), ``rose``, ``sort``/``dir`` and ``page`` (from 1), read and
validated by :func:`layout` and written back by :func:`sync_url` to the filter bar's ``dcc.Location``, the page's
only URL component (a second one went stale and ate the first click after a filter change). A row click opens
the profile with ``back`` set to this list's address, the way a ``dcc.Link`` navigates; each name link carries the
same ``back``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from core.errors import InvalidInput, Unavailable
from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.components import filter_bar
from dashboard.components import risk as parts
from dashboard.components.list_url import LIST_PATH
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit
from services.at_risk import WORKFLOW_FILTERS, RiskTable, export_risk_csv, risk_table
from services.filters import to_query, to_search
from services.indicators import FILTER_LABELS, check_filter, filter_words
from services.scope import Filters
from services.students import parse_student_id

PATH = LIST_PATH
dash.register_page(__name__, path=PATH, name="At risk", title="At risk", order=3)

ALL = "all"
SORT_COLUMNS = {"student": "name", "class": "class", "grade": "grade", "probability": "probability", "tier": "tier",
                "latest_score": "latest_score", "attendance": "attendance"}
EXPORT_TARGET = "at-risk list"
ROSE = "rose"
SUPPORT = "support"  # the intervention filter's URL key: "unsupported" or "overdue"
SUPPORT_OPTIONS = (("all", "Any support"), ("unsupported", "High without an active intervention"),
                   ("overdue", "Review overdue"))
MAX_PAGE = 10**6
# Opening a profile: what a dcc.Link click does (push the address, tell Dash's router), for a validated href only.
OPEN_PROFILE_JS = """
function(href) {
    if (typeof href === 'string' && /^\\/students\\/[0-9]+(\\?back=[A-Za-z0-9%._\\-]*)?$/.test(href)) {
        window.history.pushState({}, '', href);
        window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
        window.scrollTo(0, 0);
    }
    return window.dash_clientside.no_update;
}
"""


def read_tier(value: Any) -> str | None:
    """The tier chosen (None for every tier); anything unknown from the browser counts as every tier."""
    return value if value in parts.TIERS else None


def read_sort(sort_by: Any) -> tuple[str, bool]:
    """The service's sort key and direction from the table's ``sort_by`` (default: highest risk first)."""
    first = sort_by[0] if isinstance(sort_by, list) and sort_by and isinstance(sort_by[0], dict) else {}
    key = SORT_COLUMNS.get(str(first.get("column_id")), "probability")
    return key, first.get("direction", "desc") != "asc"


def read_url_sort(column: Any, direction: Any) -> list[dict[str, str]]:
    """The table's ``sort_by`` from the URL's ``sort`` and ``dir`` (the default order for anything unknown)."""
    if column not in SORT_COLUMNS:
        return parts.DEFAULT_SORT
    return [{"column_id": column, "direction": "asc" if direction == "asc" else "desc"}]


def read_url_page(value: Any) -> int:
    """The table's page (from 0) of the URL's ``page`` (from 1); anything odd is the first page."""
    text = str(value or "")
    return min(int(text), MAX_PAGE) - 1 if text.isdigit() and int(text) > 0 else 0


def read_support(value: Any) -> str | None:
    """The intervention filter chosen (None for any); anything unknown from the browser counts as none."""
    return value if value in WORKFLOW_FILTERS else None


def read_indicator(value: Any) -> str | None:
    """The indicator filter chosen (None: every student); anything unknown from the browser counts as none."""
    if not isinstance(value, str) or value == ALL:
        return None
    try:
        check_filter(value)
    except InvalidInput:
        return None
    return value


def list_search(filters: Filters, tier: str | None, sort_by: Any, page: Any, rose: bool = False,
                support: str | None = None, indicator: str | None = None) -> str:
    """The canonical query string of the list: the filters, then tier, indicator, "rose", support, order and page
    (defaults left out)."""
    query = to_query(filters)
    sort, descending = read_sort(sort_by)
    column = next(c for c, key in SORT_COLUMNS.items() if key == sort)
    if tier:
        query["tier"] = tier
    if indicator:
        query["ind"] = indicator
    if rose:
        query[ROSE] = "1"
    if support:
        query[SUPPORT] = support
    if [{"column_id": column, "direction": "desc" if descending else "asc"}] != parts.DEFAULT_SORT:
        query |= {"sort": column, "dir": "desc" if descending else "asc"}
    if isinstance(page, int) and 0 < page < MAX_PAGE:
        query["page"] = str(page + 1)
    return "?" + urlencode(query) if query else ""


def _tier_filter(tier: str | None) -> dbc.RadioItems:
    options = [{"label": "All tiers", "value": ALL}] + [{"label": parts.tier_label(t), "value": t} for t in parts.TIERS]
    return dbc.RadioItems(
        id=ids.RISK_TIER, options=options, value=tier or ALL, inline=True, className="risk-tier-filter btn-group",
        inputClassName="btn-check", labelClassName="btn btn-outline-secondary btn-sm",
        labelCheckedClassName="active",
    )


def read_rose(value: Any) -> bool:
    """Whether the "rose since last run" switch is on (anything else from the browser counts as off)."""
    return isinstance(value, list) and ROSE in value


def _rose_filter(query: dict[str, str]) -> dbc.Checklist:
    on = [ROSE] if query.get(ROSE) in ("1", "true") else []
    return dbc.Checklist(id=ids.RISK_ROSE, options=[{"label": "Rose since last run", "value": ROSE}], value=on,
                         switch=True, inline=True, className="risk-rose-filter")


def _support_filter(query: dict[str, str]) -> html.Div:
    options = [{"label": label, "value": value} for value, label in SUPPORT_OPTIONS]
    return html.Div([html.Label("Intervention", htmlFor=ids.RISK_WORKFLOW, className="filter-label me-2"),
                     dbc.Select(id=ids.RISK_WORKFLOW, options=options, value=read_support(query.get(SUPPORT)) or ALL,
                                size="sm", style={"maxWidth": "20rem"})],
                    className="risk-support-filter d-flex align-items-center")


def _indicator_filter(query: dict[str, str]) -> dcc.Dropdown:
    chosen = read_indicator(query.get("ind"))
    options = [{"label": "All students", "value": ALL}] + [{"label": w, "value": v} for v, w in FILTER_LABELS.items()]
    if chosen is not None and chosen not in FILTER_LABELS:  # a segment opened from the overview
        options.append({"label": f"Exactly: {filter_words(chosen)}", "value": chosen})
    return dcc.Dropdown(id=ids.RISK_INDICATOR, options=options, value=chosen or ALL, clearable=False, searchable=False,
                        className="risk-indicator-filter", style={"minWidth": "16rem"})


def _table(query: dict[str, Any]) -> Any:
    table = parts.risk_table(read_url_sort(query.get("sort"), query.get("dir")))
    table.page_current = read_url_page(query.get("page"))
    # A page count that holds the URL's page until the first answer: the DataTable would otherwise pull a
    # page_current past its page_count back to the first page, and the reload would lose the page.
    table.page_count = table.page_current + 1
    return table


def layout(**query: str) -> html.Div:
    """The caption, the filter bar, the tier filter, the export button and the table, all from the query string."""
    tools = html.Div(
        [html.Div([html.Span("Tier", className="filter-label me-2"), _tier_filter(read_tier(query.get("tier")))],
                  className="risk-tier-wrap", role="group", **{"aria-label": "Tier"}),
         html.Div([html.Span("Indicators", className="filter-label me-2"), _indicator_filter(query)],
                  className="risk-indicator-wrap d-flex align-items-center", role="group",
                  **{"aria-label": "Indicators"}),
         _rose_filter(query),
         _support_filter(query),
         dbc.Button("Download CSV", id=ids.RISK_DOWNLOAD_BUTTON, color="primary", outline=True, size="sm", n_clicks=0)],
        className="risk-tools",
    )
    return html.Div(
        [
            html.H2("Students at risk", className="page-title"),
            html.P(parts.CAPTION, className="risk-caption"),
            filter_bar.filter_bar(query, PATH, dates=False),
            dcc.Store(id=ids.RISK_NAV),
            tools,
            dcc.Loading(html.Div(id=ids.RISK_STATUS, className="risk-status"), type="dot"),
            html.Div(id=ids.RISK_EMPTY),
            html.Div(_table(query), id=ids.RISK_TABLE_AREA, className="risk-table-area"),
            dcc.Download(id=ids.RISK_DOWNLOAD),
        ],
        id=ids.RISK_PAGE,
        className="analytics-page",
    )


def _page(filters: Filters, tier: str | None, sort_by: Any, page: int, rose: bool = False,
          support: str | None = None, indicator: str | None = None) -> RiskTable:
    sort, descending = read_sort(sort_by)
    size = parts.PAGE_SIZE
    with read_session() as session:
        args = {"session": session, "viewer": current_viewer(), "filters": filters, "tier": tier, "sort": sort,
                "descending": descending, "limit": size, "rose": rose, "workflow": support, "indicator": indicator}
        table = risk_table(**args, offset=page * size)
        if not table.items and table.total and page:  # past the end (the list shrank): show the last page
            table = risk_table(**args, offset=(table.total - 1) // size * size)
    return table


def _requested_page(page: Any) -> int:
    triggered = ctx.triggered_prop_ids
    if triggered and "risk-table.page_current" not in triggered:
        return 0  # new filters, tier or order start again at the first page
    try:
        return min(max(int(page or 0), 0), 10**7)
    except (TypeError, ValueError):
        return 0


@callback(
    Output(ids.RISK_TABLE, "data"), Output(ids.RISK_TABLE, "page_count"), Output(ids.RISK_TABLE, "page_current"),
    Output(ids.RISK_STATUS, "children"), Output(ids.RISK_EMPTY, "children"), Output(ids.RISK_TABLE_AREA, "hidden"),
    Output(ids.RISK_DOWNLOAD_BUTTON, "disabled"),
    Input(ids.FILTER_QUERY, "data"), Input(ids.RISK_TIER, "value"), Input(ids.RISK_TABLE, "page_current"),
    Input(ids.RISK_TABLE, "sort_by"), Input(ids.RISK_ROSE, "value"), Input(ids.RISK_WORKFLOW, "value"),
    Input(ids.RISK_INDICATOR, "value"),
)
def update_table(query: str | None, tier: Any, page: Any, sort_by: Any, rose: Any = None,
                 support: Any = None, indicator: Any = None) -> tuple[Any, ...]:
    """One page of the scoped, filtered list (sorted and paged in SQL), its status line or an empty state."""
    filters = filter_bar.read_filters(query)
    chosen = read_indicator(indicator)
    try:
        table = _page(filters, read_tier(tier), sort_by, _requested_page(page), read_rose(rose), read_support(support),
                      chosen)
    except Unavailable as exc:
        return [], 1, 0, None, parts.no_scores(ids.RISK_EMPTY, str(exc)), True, True
    if not table.total:
        return [], 1, 0, parts.status_line(table, None, False), parts.no_match(ids.RISK_EMPTY), True, True
    as_of = table.items[0].as_of if table.items else None
    status = parts.status_line(table, as_of, filters.date_from is not None or filters.date_to is not None)
    page_count = max(1, -(-table.total // parts.PAGE_SIZE))
    page_now = table.offset // parts.PAGE_SIZE
    back = PATH + list_search(filters, read_tier(tier), sort_by, page_now, read_rose(rose), read_support(support), chosen)
    return parts.table_rows(table, back), page_count, table.offset // parts.PAGE_SIZE, status, None, False, False


@callback(
    Output(ids.FILTER_URL, "search", allow_duplicate=True),
    Input(ids.FILTER_QUERY, "data"), Input(ids.RISK_TIER, "value"), Input(ids.RISK_TABLE, "sort_by"),
    Input(ids.RISK_TABLE, "page_current"), Input(ids.RISK_ROSE, "value"), Input(ids.RISK_WORKFLOW, "value"),
    Input(ids.RISK_INDICATOR, "value"), State(ids.FILTER_URL, "search"), prevent_initial_call=True,
)
def sync_url(query: str | None, tier: Any, sort_by: Any, page: Any, rose: Any, support: Any, indicator: Any,
             current: Any) -> Any:
    """Write the list's state (filters, tier, indicator, "rose", support, order, page) to the page's one URL
    component, validated again."""
    search = list_search(filter_bar.read_filters(query), read_tier(tier), sort_by, page, read_rose(rose),
                         read_support(support), read_indicator(indicator))
    return no_update if search == current else search


@callback(
    Output(ids.RISK_NAV, "data"), Input(ids.RISK_TABLE, "active_cell"),
    State(ids.FILTER_QUERY, "data"), State(ids.RISK_TIER, "value"), State(ids.RISK_TABLE, "sort_by"),
    State(ids.RISK_TABLE, "page_current"), State(ids.RISK_ROSE, "value"), State(ids.RISK_WORKFLOW, "value"),
    State(ids.RISK_INDICATOR, "value"), prevent_initial_call=True,
)
def open_profile(active_cell: Any, query: str | None, tier: Any, sort_by: Any, page: Any, rose: Any = None,
                 support: Any = None, indicator: Any = None) -> str:
    """A click on a row: that student's profile address, with the list's own address to come back to."""
    try:
        student_id = parse_student_id((active_cell or {}).get("row_id"))
    except (InvalidInput, AttributeError):
        raise PreventUpdate from None
    back = PATH + list_search(filter_bar.read_filters(query), read_tier(tier), sort_by, page, read_rose(rose),
                              read_support(support), read_indicator(indicator))
    return f"/students/{student_id}?back={quote(back, safe='')}"


clientside_callback(OPEN_PROFILE_JS, Output(ids.RISK_NAV, "clear_data"), Input(ids.RISK_NAV, "data"),
                    prevent_initial_call=True)


def export_name(filters: Filters, tier: str | None, as_of: Any, indicator: str | None = None) -> str:
    """The export's file name: the filters, the tier and the scoring date, e.g. ``at-risk_grade-10_High_2026-03-02.csv``."""
    words = [f"{key}-{value}" for key, value in to_query(filters).items()] + ([tier] if tier else [])
    words += [indicator] if indicator else []
    safe = [re.sub(r"[^A-Za-z0-9.-]+", "-", w).strip("-") for w in ["at-risk", *words, str(as_of)]]
    return "_".join(w for w in safe if w) + ".csv"


@callback(
    Output(ids.RISK_DOWNLOAD, "data"), Input(ids.RISK_DOWNLOAD_BUTTON, "n_clicks"),
    State(ids.FILTER_QUERY, "data"), State(ids.RISK_TIER, "value"), State(ids.RISK_TABLE, "sort_by"),
    State(ids.RISK_WORKFLOW, "value"), State(ids.RISK_INDICATOR, "value"),
    prevent_initial_call=True,
)
def download_csv(n_clicks: Any, query: str | None, tier: Any, sort_by: Any, support: Any = None,
                 indicator: Any = None) -> dict[str, Any]:
    """Every matching row of the viewer's scope as CSV (not just the page shown), recorded in the audit log."""
    if not n_clicks:
        raise PreventUpdate
    viewer, filters, chosen = current_viewer(), filter_bar.read_filters(query), read_tier(tier)
    sort, descending = read_sort(sort_by)
    ind = read_indicator(indicator)
    with read_session() as session:
        try:
            export = export_risk_csv(session=session, viewer=viewer, filters=filters, tier=chosen, sort=sort,
                                     descending=descending, indicator=ind, workflow=read_support(support))
        except Unavailable:
            raise PreventUpdate from None
        details = {"format": "csv", "rows": export.rows, "tier": chosen, "indicator": ind, "support": read_support(support),
                   "filters": to_search(filters), "page": PATH}
        audit.record(session, action=audit.EXPORT, user_id=viewer.user_id, actor=viewer.email, target=EXPORT_TARGET,
                     details=details, address=client_address())
    return dcc.send_string(export.text, export_name(filters, chosen, export.as_of, ind), type="text/csv; charset=utf-8")
