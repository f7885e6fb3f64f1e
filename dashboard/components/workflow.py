"""The profile's "Support and follow-up" panel: its forms (static, so every callback id is in the layout) and the
pieces filled from :class:`services.workflow.StudentWorkflow` (plain data in)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.components.empty import graph
from dashboard.figures.workflow import TIMELINE_HEIGHT, timeline_figure
from services.workflow import StudentWorkflow

DATE_HINT = "YYYY-MM-DD"
STAR_ON, STAR_OFF = "★ In my students", "☆ Add to my students"
TIMELINE_SHOWN = 30


def _field(label: str, control: Any, width: int = 6) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control.id, className="small mb-1"), control], xs=12, md=width,
                   className="mb-2")


def _select(component_id: str, options: list[str] | None = None, value: str | None = None) -> dbc.Select:
    return dbc.Select(id=component_id, options=[{"label": o.capitalize(), "value": o} for o in options or []],
                      value=value, size="sm")


def _text(component_id: str, placeholder: str = "", value: str = "") -> dbc.Input:
    return dbc.Input(id=component_id, type="text", placeholder=placeholder, value=value, size="sm", maxLength=4000)


def _intervention_form(today: str) -> html.Div:
    return html.Div([
        html.H4("Add an intervention", className="h6 mt-2"),
        dbc.Row([
            _field("Type", _select(ids.WF_INT_TYPE)), _field("Owner", _select(ids.WF_INT_OWNER)),
            _field("Start date", _text(ids.WF_INT_START, DATE_HINT, today), 4),
            _field("Next review", _text(ids.WF_INT_REVIEW, DATE_HINT), 4),
            _field("Status", _select(ids.WF_INT_STATUS, ["planned", "active", "completed", "stopped"], "planned"), 4),
            _field("Outcome note", _text(ids.WF_INT_OUTCOME, "optional"), 12),
        ], className="g-2"),
        dbc.Button("Add intervention", id=ids.WF_INT_ADD, n_clicks=0, size="sm", color="primary"),
        html.Div(id=ids.WF_INT_MESSAGE, className="wf-message small mt-1", role="status"),
    ], className="wf-form")


def _edit_form() -> html.Div:
    return html.Div([
        html.H4("Update an intervention", className="h6 mt-3"),
        dbc.Row([
            _field("Intervention", _select(ids.WF_EDIT_WHICH), 12),
            _field("Status", _select(ids.WF_EDIT_STATUS, ["planned", "active", "completed", "stopped"]), 4),
            _field("Next review", _text(ids.WF_EDIT_REVIEW, DATE_HINT), 4),
            _field("Outcome note", _text(ids.WF_EDIT_OUTCOME, "optional"), 4),
        ], className="g-2"),
        dbc.Button("Save changes", id=ids.WF_EDIT_SAVE, n_clicks=0, size="sm", color="secondary"),
        html.Div(id=ids.WF_EDIT_MESSAGE, className="wf-message small mt-1", role="status"),
    ], className="wf-form")


def _note_form(today: str) -> html.Div:
    return html.Div([
        html.H4("Add a note or contact", className="h6 mt-2"),
        dbc.Row([
            _field("Kind", _select(ids.WF_NOTE_KIND, ["note", "parent call", "meeting", "letter"], "note"), 6),
            _field("Date", _text(ids.WF_NOTE_DATE, DATE_HINT, today), 6),
            _field("Note", dbc.Textarea(id=ids.WF_NOTE_BODY, value="", rows=2, maxLength=4000), 12),
            _field("Outcome (for contacts)", _text(ids.WF_NOTE_OUTCOME, "optional"), 12),
        ], className="g-2"),
        dbc.Button("Add note", id=ids.WF_NOTE_ADD, n_clicks=0, size="sm", color="primary"),
        html.Div(id=ids.WF_NOTE_MESSAGE, className="wf-message small mt-1", role="status"),
        html.H4("Correct one of your notes", className="h6 mt-3"),
        dbc.Row([_field("Note", _select(ids.WF_NOTE_WHICH), 12),
                 _field("New text (the old one stays in the audit log)",
                        dbc.Textarea(id=ids.WF_NOTE_NEW, value="", rows=2, maxLength=4000), 12)], className="g-2"),
        dbc.Button("Save note", id=ids.WF_NOTE_SAVE, n_clicks=0, size="sm", color="secondary"),
        html.Div(id=ids.WF_NOTE_EDIT_MESSAGE, className="wf-message small mt-1", role="status"),
    ], className="wf-form")


def _feedback_form() -> html.Div:
    verdicts = ["not at risk", "already supported", "data is wrong"]
    return html.Div([
        html.H4("Is this flag right?", className="h6 mt-2"),
        dbc.RadioItems(id=ids.WF_FB_VERDICT, options=[{"label": v.capitalize(), "value": v} for v in verdicts],
                       value=None, inline=True, className="small"),
        _field("In one sentence, why", _text(ids.WF_FB_COMMENT, "e.g. She has had a tutor since March."), 12),
        dbc.Button("Send feedback", id=ids.WF_FB_SEND, n_clicks=0, size="sm", color="secondary"),
        html.Div(id=ids.WF_FB_MESSAGE, className="wf-message small mt-1", role="status"),
    ], id=ids.WF_FB_FORM, hidden=True, className="wf-form")


def panel() -> dbc.Card:
    """The panel with empty lists (filled by the page's callback) and its forms."""
    today = dt.date.today().isoformat()
    return dbc.Card(dbc.CardBody([
        html.Div([html.H3("Support and follow-up", className="panel-title mb-0"),
                  dbc.Button(STAR_OFF, id=ids.WF_STAR, n_clicks=0, size="sm", color="warning", outline=True)],
                 className="d-flex justify-content-between align-items-center flex-wrap gap-2"),
        dcc.Store(id=ids.WF_REFRESH, data=0),
        html.Div(id=ids.WF_TIMELINE, className="wf-timeline mt-2"),
        dbc.Row([
            dbc.Col([html.H4("Interventions", className="h6"), html.Div(id=ids.WF_INTERVENTIONS),
                     _intervention_form(today), _edit_form()], xs=12, lg=6),
            dbc.Col([html.H4("Notes and contacts", className="h6"), html.Div(id=ids.WF_NOTES), _note_form(today),
                     html.H4("Feedback on the flag", className="h6 mt-3"), html.Div(id=ids.WF_FEEDBACK),
                     _feedback_form()], xs=12, lg=6),
        ], className="g-3 mt-1"),
    ]), id=ids.WF_PANEL, className="analytics-panel mt-3")


def _when(day: dt.date | None) -> str:
    return "–" if day is None else f"{day.day} {day:%b %Y}"


def timeline(wf: StudentWorkflow) -> list[Any]:
    """The timeline chart and the same events as a list, newest first."""
    if not wf.timeline:
        return [html.P("Nothing on the timeline yet.", className="risk-note")]
    figure = timeline_figure([(e.on.isoformat(), e.kind, e.text, e.risk) for e in wf.timeline])
    chart = graph(ids.WF_TIMELINE_GRAPH, figure)
    chart.style = {"height": f"{TIMELINE_HEIGHT}px"}
    items = [html.Li([html.Span(_when(e.on), className="wf-when"), " ", html.Span(e.text)],
                     className=f"wf-entry wf-entry-{e.kind}") for e in wf.timeline[:TIMELINE_SHOWN]]
    return [chart, html.Ul(items, className="wf-entries list-unstyled small")]


def intervention_list(wf: StudentWorkflow, today: dt.date) -> Any:
    """Each intervention: type, status, owner, dates, outcome (an overdue review said in words)."""
    if not wf.interventions:
        return html.P("No intervention yet.", className="risk-note")
    items = []
    for i in wf.interventions:
        late = " (overdue)" if i.overdue(today) else ""
        items.append(html.Li([html.Strong(f"{i.type.capitalize()} · {i.status}"),
                              f" · owner {i.owner} · from {_when(i.start_date)} · review {_when(i.next_review)}{late}",
                              html.Div(i.outcome, className="text-muted") if i.outcome else None],
                             className="wf-intervention"))
    return html.Ul(items, className="list-unstyled small")


def note_list(wf: StudentWorkflow) -> Any:
    """Each note or contact with its date, kind, author and outcome."""
    if not wf.notes:
        return html.P("No note yet.", className="risk-note")
    return html.Ul([html.Li([html.Strong(f"{_when(n.occurred_on)} · {n.kind}"), f" · {n.author}: {n.body}",
                             html.Div(f"Outcome: {n.outcome}", className="text-muted") if n.outcome else None],
                            className="wf-note") for n in wf.notes], className="list-unstyled small")


def feedback_list(wf: StudentWorkflow) -> Any:
    """The feedback given on this student's flags."""
    if not wf.feedback:
        return html.P("No feedback yet." if wf.flagged_tier else "Not flagged in the latest run.", className="risk-note")
    return html.Ul([html.Li([html.Strong(f.verdict.capitalize()), f" ({f.tier} flag, {f.author}): {f.comment}"],
                            className="wf-feedback") for f in wf.feedback], className="list-unstyled small")


def choices(values: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    """Options of a select from (value, label) pairs."""
    return [{"value": str(v), "label": label} for v, label in values]
