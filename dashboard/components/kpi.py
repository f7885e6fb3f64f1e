"""KPI cards of the Overview page (plain data in: a services.overview.KpiSummary)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import ids
from dashboard.components.empty import empty_state
from services.overview import KpiSummary


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def card(key: str, label: str, value: str, note: str = "") -> dbc.Col:
    """One KPI: a big number, its label and a short note; id ``kpi-card-<key>``."""
    body = [html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")]
    if note:
        body.append(html.Div(note, className="kpi-note"))
    return dbc.Col(dbc.Card(dbc.CardBody(body), className="kpi-card h-100", id=f"{ids.KPI_CARD}-{key}"), xs=6, md=4, xl=2)


def kpi_cards(summary: KpiSummary) -> html.Div | dbc.Row:
    """The row of KPI cards, or the empty state when no student matches."""
    if summary.empty:
        return empty_state(ids.OVERVIEW_KPIS)
    scored = f"of {summary.n_scored:,} scored"
    risk_note = scored if summary.at_risk_share is not None else summary.risk_note or "no scored student here"
    return dbc.Row(
        [
            card("students", "Student" if summary.n_students == 1 else "Students", f"{summary.n_students:,}"),
            card("mean-score", "Mean score", _num(summary.mean_score), f"median {_num(summary.median_score)}"),
            card("pass-rate", "Pass rate", _pct(summary.pass_rate), f"latest score ≥ {summary.pass_threshold:g}"),
            card("attendance", "Mean attendance", _pct(summary.mean_attendance)),
            card("chronic", "Chronically absent", _pct(summary.chronic_share), f"attendance below {summary.chronic_below * 100:g} %"),
            card("at-risk", "High risk", _pct(summary.at_risk_share), risk_note),
        ],
        className="g-3 kpi-row",
    )
