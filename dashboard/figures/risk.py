"""Figures of the risk pages: a student's weeks beside their class, and the contributions to their risk."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.theme import BLUE, VERMILLION, styled

CLASS_GREY = "#6b7480"
HISTORY_HEIGHT = 560
PANELS = (
    ("attendance", "class_attendance", "Attendance %", 100.0, "%{y:.0f} %"),
    ("study_hours", "class_study_hours", "Study h/week", 1.0, "%{y:.1f} h"),
    ("score", "class_score", "Score", 1.0, "%{y:.1f}"),
)


def _values(frame: pd.DataFrame, column: str, scale: float) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v) * scale, 2) for v in frame[column]]


def history_figure(frame: pd.DataFrame) -> go.Figure:
    """Three stacked panels over the weeks: the student's attendance, study hours and score, and the class mean."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07)
    weeks = [str(w) for w in frame["week"]]
    for row, (own, peer, title, scale, fmt) in enumerate(PANELS, start=1):
        fig.add_trace(go.Scatter(x=weeks, y=_values(frame, own, scale), mode="lines+markers", name="This student",
                                 line={"color": BLUE, "width": 2}, marker={"size": 5}, showlegend=row == 1,
                                 legendgroup="student", hovertemplate=f"%{{x}}: {fmt}<extra>This student</extra>"),
                      row=row, col=1)
        fig.add_trace(go.Scatter(x=weeks, y=_values(frame, peer, scale), mode="lines", name="Class mean",
                                 line={"color": CLASS_GREY, "dash": "dash"}, showlegend=row == 1, legendgroup="class",
                                 hovertemplate=f"%{{x}}: {fmt}<extra>Class mean</extra>"),
                      row=row, col=1)
        fig.update_yaxes(title=title, row=row, col=1)
    fig.update_xaxes(title="Week", row=3, col=1)
    styled(fig, "Week by week, beside the class mean", height=HISTORY_HEIGHT)
    fig.update_layout(margin={"t": 84}, legend={"x": 1, "xanchor": "right", "y": 1.08})
    return fig


def _label(reason: dict[str, Any]) -> str:
    """The factor and the student's value, e.g. ``Attendance 71 %`` (the class median is in the list beside it)."""
    text = str(reason.get("text", reason.get("factor", "")))
    words = text.rsplit(":", 1)[0].split(", class median", 1)[0]
    return words[:1].upper() + words[1:]


def bars_height(n_factors: int) -> int:
    """Pixel height of the contributions chart for ``n_factors`` bars."""
    return max(260, 90 + 30 * n_factors)


def contribution_bars(reasons: list[dict[str, Any]]) -> go.Figure:
    """Horizontal bars of each factor's exact contribution (largest at the top), coloured and labelled by effect."""
    shown = [r for r in reasons if r.get("contribution") is not None]
    shown.sort(key=lambda r: abs(float(r["contribution"])))
    values = [float(r["contribution"]) for r in shown]
    fig = go.Figure(
        go.Bar(
            x=values, y=[_label(r) for r in shown], orientation="h",
            marker={"color": [VERMILLION if v > 0 else BLUE for v in values],
                    "pattern": {"shape": ["" if v > 0 else "/" for v in values]}},
            text=["raises risk" if v > 0 else "lowers risk" for v in values], textposition="inside",
            hovertemplate="%{y}: %{text}<extra></extra>", name="Contribution",
        )
    )
    fig.add_vline(x=0, line={"color": "#333", "width": 1})
    # Words for teachers: the model's scale (log-odds or probability) is a detail of the model, not shown here.
    fig.update_xaxes(title="← lowers risk · how much each factor moves it · raises risk →", zeroline=False)
    fig.update_yaxes(automargin=True)
    fig.update_layout(showlegend=False, uniformtext={"minsize": 10, "mode": "hide"})
    return styled(fig, "What moves this student's score", height=bars_height(len(shown)))


RISK_HISTORY_HEIGHT = 300


def risk_history_figure(
    dates: list[str], probability: list[float], low: list[float], high: list[float], tiers: list[str],
    words: list[str], threshold: float | None = None,
) -> go.Figure:
    """A student's risk in every scoring run (whole percentages) inside its shaded interval, with the threshold."""
    pct = [round(p * 100) for p in probability]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dates, y=[round(h * 100, 1) for h in high], mode="lines", line={"width": 0},
                             hoverinfo="skip", showlegend=False, name="likely up to"))
    fig.add_trace(go.Scatter(x=dates, y=[round(v * 100, 1) for v in low], mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(0, 114, 178, 0.18)", hoverinfo="skip",
                             name="Likely range"))
    fig.add_trace(go.Scatter(x=dates, y=pct, mode="lines+markers", name="Estimated risk",
                             line={"color": BLUE, "width": 2}, marker={"size": 7},
                             customdata=[[w, t] for w, t in zip(words, tiers, strict=True)],
                             hovertemplate="%{x}: %{customdata[0]} (%{customdata[1]})<extra></extra>"))
    if threshold is not None:
        fig.add_hline(y=round(threshold * 100, 1), line={"color": VERMILLION, "dash": "dot"},
                      annotation_text="decision threshold", annotation_position="top left")
    fig.update_yaxes(title="Risk %", range=[0, 100])
    fig.update_xaxes(title="Scored as of", type="category")
    styled(fig, "Risk over time, with its likely range", height=RISK_HISTORY_HEIGHT)
    return fig
