"""Figures of the Overview page: the score histogram and the weekly trends (plain data in, Figure out)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.theme import BLUE, ORANGE, VERMILLION, styled


def score_histogram(bins: pd.DataFrame, *, pass_threshold: float, median: float | None) -> go.Figure:
    """Bars of students per score bin (bins already counted in SQL), with the pass mark and the median."""
    centres = (bins["lower"] + bins["upper"]) / 2
    widths = bins["upper"] - bins["lower"]
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(bins["lower"], bins["upper"], strict=True)]
    fig = go.Figure(
        go.Bar(
            x=centres.tolist(), y=bins["count"].tolist(), width=widths.tolist(), customdata=labels,
            marker={"color": BLUE, "line": {"color": "white", "width": 1}},
            hovertemplate="Score %{customdata}: %{y:,} students<extra></extra>", name="Students",
        )
    )
    fig.add_vline(x=pass_threshold, line={"color": VERMILLION, "dash": "dash"},
                  annotation_text=f"pass mark {pass_threshold:g}", annotation_position="top left")
    if median is not None:
        fig.add_vline(x=median, line={"color": ORANGE}, annotation_text=f"median {median:.1f}",
                      annotation_position="top right")
    fig.update_xaxes(title="Latest score", range=[0, 100])
    fig.update_yaxes(title="Students", rangemode="tozero")
    return styled(fig, "Score distribution")


def weekly_trends(frame: pd.DataFrame) -> go.Figure:
    """Two stacked lines over the weeks: mean attendance (%) and mean score."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    weeks = [w.date().isoformat() for w in frame["week"]]
    fig.add_trace(
        go.Scatter(x=weeks, y=(frame["attendance"] * 100).round(2).tolist(), mode="lines+markers", name="Attendance %",
                   line={"color": ORANGE}, hovertemplate="%{x}: %{y:.1f} %<extra></extra>"),
        row=1, col=1,
    )
    fig.add_trace(
        go.Scatter(x=weeks, y=frame["score"].round(2).tolist(), mode="lines+markers", name="Mean score",
                   line={"color": BLUE}, hovertemplate="%{x}: %{y:.1f}<extra></extra>"),
        row=2, col=1,
    )
    fig.update_yaxes(title="Attendance %", row=1, col=1)
    fig.update_yaxes(title="Mean score", row=2, col=1)
    fig.update_xaxes(title="Week", row=2, col=1)
    return styled(fig, "Weekly attendance and scores", height=420)
