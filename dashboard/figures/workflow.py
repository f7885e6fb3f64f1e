"""The profile's timeline figure: the risk in every scoring run, with interventions, reviews, notes and feedback
marked on the same dates."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.figures.theme import BLUE, GREEN, ORANGE, PURPLE, VERMILLION, styled

TIMELINE_HEIGHT = 320
MARKS = {  # kind: (legend name, colour, symbol, height on the chart in %)
    "intervention": ("Intervention started", GREEN, "triangle-up", 96),
    "review": ("Review due", ORANGE, "diamond", 90),
    "note": ("Note or contact", PURPLE, "square", 84),
    "feedback": ("Feedback on the flag", VERMILLION, "x", 78),
}


def timeline_figure(entries: list[tuple[str, str, str, float | None]]) -> go.Figure:
    """``(date, kind, text, risk)`` entries: the risk as a line (whole percentages), every other kind as markers."""
    risk = sorted((d, round(r * 100), t) for d, kind, t, r in entries if kind == "risk" and r is not None)
    fig = go.Figure()
    if risk:
        fig.add_trace(go.Scatter(x=[r[0] for r in risk], y=[r[1] for r in risk], mode="lines+markers",
                                 name="Estimated risk", line={"color": BLUE, "width": 2},
                                 customdata=[r[2] for r in risk], hovertemplate="%{x}: %{customdata}<extra></extra>"))
    for kind, (name, colour, symbol, height) in MARKS.items():
        mine = [(d, t) for d, k, t, _ in entries if k == kind]
        if mine:
            fig.add_trace(go.Scatter(x=[m[0] for m in mine], y=[height] * len(mine), mode="markers", name=name,
                                     marker={"color": colour, "symbol": symbol, "size": 11},
                                     customdata=[m[1][:120] for m in mine],
                                     hovertemplate="%{x}: %{customdata}<extra></extra>"))
    fig.update_yaxes(title="Risk %", range=[0, 100])
    fig.update_xaxes(title="Date", type="date")
    styled(fig, "Risk and follow-up over time", height=TIMELINE_HEIGHT)
    return fig
