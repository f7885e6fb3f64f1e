"""Layout pieces of the risk pages: tier badges, the at-risk table's rows, the profile's cards (plain data in)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dash_table, html

from dashboard import ids
from dashboard.components.empty import empty_state, graph
from dashboard.components.list_url import LIST_PATH
from dashboard.figures.risk import (
    HISTORY_HEIGHT,
    RISK_HISTORY_HEIGHT,
    bars_height,
    contribution_bars,
    history_figure,
    risk_history_figure,
)
from dashboard.figures.theme import FONT
from services.at_risk import (
    DEFAULT_LIMIT,
    HIGH,
    LOW,
    MODERATE,
    TIERS,
    RiskHistory,
    RiskRow,
    RiskTable,
    ScoringRun,
    percent_words,
    run_words,
)
from services.indicators import ICONS, SHORT_LABELS, Indicator
from services.profile import StudentProfile

TIER_SYMBOLS = {HIGH: "▲", MODERATE: "◆", LOW: "●"}
TIER_STYLES = {  # light Okabe-Ito tints with dark text (contrast above 7:1), never colour alone: a shape and the word too
    HIGH: {"backgroundColor": "#FBE3D6", "color": "#7A2E00", "borderLeft": "4px solid #D55E00"},
    MODERATE: {"backgroundColor": "#FCEFCF", "color": "#5C4000", "borderLeft": "4px solid #E69F00"},
    LOW: {"backgroundColor": "#DCEBF5", "color": "#00466E", "borderLeft": "4px solid #0072B2"},
}
PAGE_SIZE = DEFAULT_LIMIT
DEFAULT_SORT = [{"column_id": "probability", "direction": "desc"}]  # highest risk first
CAPTION = (
    "The risk score is the model's estimate of how likely a student is to finish below the pass mark, worked out from "
    "attendance, study hours and grades so far, shown with its likely range (\"62 %, likely 48-75 %\"). By default a "
    "student is High when the whole likely range lies above the model's decision threshold, Low when it lies below "
    "it, and Moderate when it straddles it (the run's rule is shown above the table). \"Since last run\" compares "
    "with the previous scoring run (\"new\": first scored, or newly High). It is an estimate to prompt a "
    "conversation with the student, not a verdict."
)
PROFILE_NOTE = (
    "An estimate to prompt a conversation, not a verdict. The reasons are the model's exact contributions (SHAP) "
    "for this student, each shown with the student's value beside their class median."
)
NO_MATCH_RISK = "No scored student matches these filters"
COLUMNS = (
    ("student", "Student", "markdown"), ("class", "Class", "text"), ("grade", "Grade", "numeric"),
    ("tier", "Tier", "text"), ("indicators", "Indicators", "text"), ("reasons", "Top reasons", "text"),
    ("probability", "Risk (likely range)", "text"),
    ("change", "Since last run", "text"),
    ("latest_score", "Latest score", "text"), ("attendance", "Attendance", "text"),
    ("intervention", "Intervention", "text"),
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:;\"'=^$%@?/,])")


def tier_label(tier: str) -> str:
    """The tier as a shape and the word, e.g. ``▲ High``."""
    return f"{TIER_SYMBOLS.get(tier, '')} {tier}".strip()


def tier_badge(tier: str, *, large: bool = False) -> html.Span:
    """A colour-blind-safe badge: a shape, the word, and a tint (``risk-badge risk-high``)."""
    size = " risk-badge-lg" if large else ""
    return html.Span(tier_label(tier), className=f"risk-badge risk-{tier.lower()}{size}")


def md_escape(text: str) -> str:
    """Text safe inside a markdown link label: every markdown character escaped, line breaks flattened."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def _sentence(words: str) -> str:
    return words[:1].upper() + words[1:]


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _student_cell(row: RiskRow, back: str = LIST_PATH) -> str:
    """The name as a link to the profile that keeps the list's address in ``back`` (as a row click does)."""
    label = md_escape(f"{row.name or 'Unnamed'} ({row.source_id})")
    return f"[{label}](/students/{int(row.student_id)}?back={quote(back, safe='')})"


def indicator_words(keys: tuple[str, ...]) -> str:
    """The indicators that are on, one per line, each as its shape and short name (``⊘ Absence``), or a dash."""
    return "\n".join(f"{ICONS[k]} {SHORT_LABELS[k]}" for k in keys) or "–"


def _reason_words(reason: str) -> str:
    return reason[:1].upper() + reason[1:]


def table_rows(table: RiskTable, back: str = LIST_PATH) -> list[dict[str, Any]]:
    """The DataTable's rows of one page; ``id`` is the student id (Dash puts it in ``active_cell.row_id``).

    ``back``: the list's own address, which each name link passes to the profile.
    """
    return [
        {
            "id": r.student_id, "student": _student_cell(r, back), "class": r.class_name or "–", "grade": r.grade_level,
            "probability": r.words, "change": r.change, "tier": tier_label(r.tier), "indicators": indicator_words(r.indicators),
            "reasons": "\n".join(_reason_words(x) for x in r.reasons), "latest_score": _score(r.latest_score),
            "attendance": _pct(r.attendance), "intervention": r.intervention or "none",
        }
        for r in table.items
    ]


def _tier_styles() -> list[dict[str, Any]]:
    return [
        {"if": {"filter_query": f'{{tier}} contains "{tier}"', "column_id": "tier"}, **style, "fontWeight": 600}
        for tier, style in TIER_STYLES.items()
    ]


def risk_table(sort_by: list[dict[str, str]]) -> dash_table.DataTable:
    """The empty table; one page at a time is filled by the page's callback (server-side paging and sorting)."""
    return dash_table.DataTable(
        id=ids.RISK_TABLE,
        columns=[{"id": cid, "name": name, "presentation": "markdown"} if kind == "markdown"
                 else {"id": cid, "name": name, "type": kind} for cid, name, kind in COLUMNS],
        data=[], page_action="custom", page_current=0, page_size=PAGE_SIZE, page_count=1,
        sort_action="custom", sort_mode="single", sort_by=sort_by,
        markdown_options={"link_target": "_self", "html": False},
        cell_selectable=True, style_as_list_view=True,
        style_table={"overflowX": "auto", "minWidth": "100%"},
        style_cell={"textAlign": "left", "padding": "0.45rem 0.6rem", "whiteSpace": "normal", "height": "auto",
                    "fontFamily": FONT, "fontSize": "0.9rem", "cursor": "pointer", "verticalAlign": "top"},
        style_cell_conditional=[
            {"if": {"column_id": "reasons"}, "minWidth": "16rem", "maxWidth": "22rem", "fontSize": "0.8rem",
             "whiteSpace": "pre-line", "color": "#3e4751"},
            {"if": {"column_id": "student"}, "minWidth": "11rem"},
            {"if": {"column_id": "intervention"}, "minWidth": "8rem", "fontSize": "0.8rem"},
            {"if": {"column_id": "indicators"}, "fontSize": "0.8rem", "whiteSpace": "pre"},
            *({"if": {"column_id": c}, "textAlign": "right", "fontVariantNumeric": "tabular-nums"}
              for c in ("grade", "probability", "latest_score", "attendance")),
        ],
        style_header={"fontWeight": 600, "backgroundColor": "#f7f8fa", "whiteSpace": "normal"},
        style_data_conditional=_tier_styles(),
        css=[{"selector": ".dash-spreadsheet td.focused", "rule": "background-color: #eef4fa !important;"}],
    )


def tier_counts(table: RiskTable) -> html.Div:
    """One badge per tier with its number of students (within the filters, any tier)."""
    return html.Div(
        [html.Span([tier_badge(t), html.Span(f"{table.tier_counts.get(t, 0):,}", className="risk-count")],
                   className="risk-count-item") for t in TIERS],
        className="risk-counts",
    )


def status_line(table: RiskTable, as_of: dt.date | None, dates_ignored: bool) -> html.Div:
    """"Showing 1-25 of 200 students", the tier counts, the scoring date and any note about the filters."""
    first, last = table.offset + 1, table.offset + len(table.items)
    shown = f"Showing {first:,}–{last:,} of {table.total:,} students" if table.items else "No student on this page"
    parts: list[Any] = [html.Span(shown, className="risk-shown"), tier_counts(table)]
    if as_of is not None:
        words = run_words(table.run)
        parts.append(html.Span(f"{_sentence(words)} ({cutoffs(table.run)})", className="risk-asof"))
    if dates_ignored:
        parts.append(html.Div("The week range does not apply here: each score uses the data up to its scoring date.",
                              className="risk-note"))
    return html.Div(parts, className="risk-status-line")


def cutoffs(run: ScoringRun) -> str:
    """How the run set the tiers in words: by the interval against the threshold, or its cut-offs (``High at or
    above 40.0 %, Low below 20.0 %``)."""
    if run.method == "interval":
        return (f"{HIGH} when the whole likely range is at or above {percent_words(run.high)}, {LOW} when it is all "
                f"below, {MODERATE} when it straddles it")
    return f"{HIGH} at or above {_pct(run.high, 1)}, {LOW} below {_pct(run.low, 1)}"


def no_scores(container_id: str, message: str) -> html.Div:
    """The empty state when no model is active or nothing is scored yet."""
    return empty_state(container_id, message, "Until then, the other pages show the raw numbers.")


def no_match(container_id: str) -> html.Div:
    """The empty state when no scored student matches the filters and the tier."""
    return empty_state(container_id, NO_MATCH_RISK)


# --------------------------------------------------------------------------- the profile


def not_found(message: str) -> html.Div:
    """A 404-style message for a student id that is malformed, unknown or outside the viewer's classes."""
    return html.Div(
        [html.H3("Student not found", className="page-title"), html.P(message)],
        id=ids.STUDENT_NOT_FOUND, className="not-found", role="status",
    )


def _fact(label: str, value: str) -> html.Div:
    return html.Div([html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")], className="profile-fact")


def header(p: StudentProfile) -> html.Div:
    """Name, school id, class and grade."""
    grade = f"grade {p.grade_level}" if p.grade_level is not None else ""
    return html.Div(
        [html.H2(p.name or "Unnamed student", className="page-title mb-0"),
         html.Div(" · ".join(x for x in (f"ID {p.source_id}", f"class {p.class_name or '–'}", grade) if x),
                  className="profile-meta")],
        className="profile-header",
    )


def risk_card(p: StudentProfile) -> dbc.Card:
    """The current risk (probability and tier) with its date, or the sentence saying why there is none."""
    row, run = p.risk.row, p.risk.run
    if row is None or run is None:
        body: list[Any] = [html.H3("Current risk", className="panel-title"), html.P(p.risk.note or "", className="risk-note")]
    else:
        body = [
            html.H3("Current risk", className="panel-title"),
            html.Div([_fact("estimated risk", row.words), tier_badge(row.tier, large=True)],
                     className="profile-risk-row"),
            html.P(f"{_sentence(run_words(run))} ({cutoffs(run)}).", className="risk-asof"),
            html.P(PROFILE_NOTE, className="stats-note"),
        ]
        if p.risk.note:
            body.append(html.P(p.risk.note, className="risk-note"))
    return dbc.Card(dbc.CardBody(body), id=ids.STUDENT_RISK, className="analytics-panel profile-panel h-100")


def _reason_item(reason: dict[str, Any]) -> html.Li:
    text = str(reason.get("text", ""))
    words, _, effect = text.rpartition(":")
    raises = reason.get("effect") == "raises"
    mark = html.Span(("▲ raises risk" if raises else "▼ lowers risk"), className=f"risk-effect risk-effect-{'up' if raises else 'down'}")
    return html.Li([html.Span(_reason_words((words or text).strip())), " ", mark], className="risk-reason")


def _sized(figure_graph: Any, height: int) -> Any:
    figure_graph.style = {"height": f"{height}px"}
    return figure_graph


def reasons_card(p: StudentProfile, top: int = 5) -> dbc.Card:
    """The largest contributions in plain words, then every factor as a bar chart."""
    title = html.H3("Why this score", className="panel-title")
    explanation = p.risk.explanation
    if explanation is None:
        return dbc.Card(dbc.CardBody([title, html.P("No explanation without a risk score.", className="risk-note")]),
                        id=ids.STUDENT_REASONS, className="analytics-panel profile-panel h-100")
    reasons = explanation.reasons
    items = html.Ol([_reason_item(r) for r in reasons[:top]], className="risk-reasons")
    chart = _sized(graph(ids.STUDENT_EXPLANATION_GRAPH, contribution_bars(reasons)),
                   bars_height(len(reasons)))
    return dbc.Card(dbc.CardBody([title, items, chart]), id=ids.STUDENT_REASONS, className="analytics-panel profile-panel h-100")


def history_card(p: StudentProfile) -> dbc.Card:
    """Weekly attendance, study hours and scores beside the class mean, or an empty state."""
    if p.history.empty:
        content: Any = empty_state(ids.STUDENT_HISTORY_GRAPH, "No weekly data for this student yet", "")
    else:
        content = _sized(graph(ids.STUDENT_HISTORY_GRAPH, history_figure(p.history)), HISTORY_HEIGHT)
    return dbc.Card(dbc.CardBody(content), className="analytics-panel mt-3")


def risk_history_card(history: RiskHistory, run: ScoringRun | None) -> dbc.Card:
    """The student's risk in every scoring run with its likely range, and when they were first flagged High."""
    title = html.H3("Risk over time", className="panel-title")
    if not history.points:
        body: list[Any] = [title, html.P(history.sentence, className="risk-note")]
    else:
        points = history.points
        figure = risk_history_figure(
            [p.as_of.isoformat() for p in points], [p.probability for p in points], [p.low for p in points],
            [p.high for p in points], [p.tier for p in points], [p.words for p in points],
            None if run is None else run.threshold,
        )
        latest = points[-1]
        body = [title, html.P(f"{history.sentence} Latest: {latest.words} ({latest.tier}).", className="risk-asof"),
                _sized(graph(ids.STUDENT_RISK_HISTORY_GRAPH, figure), RISK_HISTORY_HEIGHT)]
        if history.caption:
            body.append(html.P(history.caption, className="stats-note"))
    return dbc.Card(dbc.CardBody(body), id=ids.STUDENT_RISK_HISTORY, className="analytics-panel mt-3")


def _indicator_item(item: Indicator) -> html.Li:
    state = "on" if item.on else "off"
    mark = html.Span(f"{item.icon} {item.label}" if item.on else item.label, className=f"indicator-name indicator-{state}")
    return html.Li([mark, html.Span(f": {'yes' if item.on else 'no'}, {item.value}", className="indicator-value")],
                   className=f"indicator-item indicator-item-{state}")


def indicators_card(p: StudentProfile) -> dbc.Card:
    """The three early-warning indicators with their values and rules (transparent flags beside the model)."""
    on = [i for i in p.indicators if i.on]
    summary = f"{len(on)} of {len(p.indicators)} indicators on" if p.indicators else "No indicators yet."
    body = [html.H3("Indicators", className="panel-title"), html.P(summary, className="risk-asof"),
            html.Ul([_indicator_item(i) for i in p.indicators], className="indicator-list")]
    return dbc.Card(dbc.CardBody(body), id=ids.STUDENT_INDICATORS, className="analytics-panel mt-3")


def pdf_link(p: StudentProfile) -> html.A:
    """"Download PDF": the one- or two-page profile for a parent meeting (served and audited by the server)."""
    return html.A("Download PDF", href=f"/students/{int(p.student_id)}/profile.pdf", id=ids.STUDENT_PDF,
                  className="btn btn-outline-primary btn-sm profile-pdf", download=f"student-{int(p.student_id)}.pdf")


def profile_body(p: StudentProfile) -> html.Div:
    """The whole profile: header, the reasons first and the risk with its range beside them (stacked on a tablet),
    the risk over time, then the weeks."""
    return html.Div(
        [
            html.Div([header(p), pdf_link(p)], className="d-flex justify-content-between align-items-start"),
            dbc.Row([dbc.Col(reasons_card(p), xs=12, lg=8), dbc.Col(risk_card(p), xs=12, lg=4)], className="g-3 mt-1"),
            indicators_card(p),
            risk_history_card(p.risk_history, p.risk.run),
            history_card(p),
        ]
    )
