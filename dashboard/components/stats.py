"""Statistics panels of the Effects pages: one plain sentence first, the tests one click away (a <details>)."""

from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import html

from dashboard import ids
from dashboard.components.empty import empty_state
from services.effects import Correlation, GroupTest, SportsEffect, StudyEffect


def _p(p: float) -> str:
    if math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _f(value: float, digits: int = 2) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _corr_row(name: str, c: Correlation) -> html.Tr:
    ci = f"{_f(c.ci_low)} to {_f(c.ci_high)}"
    return html.Tr([html.Td(name), html.Td(_f(c.r)), html.Td(ci), html.Td(_p(c.p_value)), html.Td(f"{c.n:,}")])


def details(summary: str, caption: str, table: dbc.Table) -> html.Details:
    """The statistics behind the headline, closed until clicked: the technical sentence and the table."""
    return html.Details(
        [html.Summary(summary, className="stats-summary"), html.P(caption, className="stats-caption"), table],
        className="stats-details",
    )


def study_stats(effect: StudyEffect) -> html.Div:
    """Headline in words, then (one click away) the caption and correlation table (r, 95 % CI by Fisher z, p, n)."""
    if effect.empty:
        return empty_state(ids.STUDY_STATS)
    head = html.Thead(html.Tr([html.Th(h) for h in ("Correlation", "r", "95 % CI", "p", "n")]))
    rows = [_corr_row("Pearson (linear)", effect.pearson), _corr_row("Spearman (rank)", effect.spearman)]
    table = dbc.Table([head, html.Tbody(rows)], bordered=False, hover=True, size="sm", responsive=True, className="stats-table")
    return html.Div(
        [
            html.P(effect.headline, className="stats-headline"),
            html.P(effect.note, className="stats-note"),
            details("Statistics: Pearson and Spearman correlations", effect.caption, table),
        ]
    )


def _test_rows(label: str, t: GroupTest, unit: str, scale: float) -> list[html.Tr]:
    means = f"{t.mean_participants * scale:.1f} vs {t.mean_none * scale:.1f} {unit}".strip()
    return [
        html.Tr([html.Td(label, rowSpan=3), html.Td("Welch's t (sports vs none)"), html.Td(f"t = {_f(t.welch_t)}, df = {_f(t.welch_df, 1)}"),
                 html.Td(_p(t.welch_p)), html.Td(f"d = {_f(t.cohens_d)} ({means})")]),
        html.Tr([html.Td("One-way ANOVA (levels)"), html.Td(f"F = {_f(t.anova_f)}"), html.Td(_p(t.anova_p)),
                 html.Td(f"η² = {_f(t.eta_squared, 3)}")]),
        html.Tr([html.Td("Kruskal-Wallis (levels)"), html.Td(f"H = {_f(t.kruskal_h)}"), html.Td(_p(t.kruskal_p)),
                 html.Td(f"ε² = {_f(t.epsilon_squared, 3)}")]),
    ]


def sports_stats(effect: SportsEffect) -> html.Div:
    """Headline in words, then (one click away) the caption and the tests for scores and attendance with effect sizes."""
    if effect.empty or not effect.tests:
        return empty_state(ids.SPORTS_STATS)
    head = html.Thead(html.Tr([html.Th(h) for h in ("Measure", "Test", "Statistic", "p", "Effect size")]))
    rows = _test_rows("Score", effect.tests["score"], "", 1.0) + _test_rows("Attendance", effect.tests["attendance"], "%", 100.0)
    table = dbc.Table([head, html.Tbody(rows)], bordered=False, hover=True, size="sm", responsive=True, className="stats-table")
    return html.Div(
        [
            html.P(effect.headline, className="stats-headline"),
            html.P(effect.note, className="stats-note"),
            details("Statistics: Welch's t, ANOVA and Kruskal-Wallis tests", effect.caption, table),
        ]
    )
