"""Figures of the Overview page: the score histogram and the weekly trends (plain data in, a plain-dict figure out).

Plain dicts (``{"data": [...], "layout": {...}}``) go to ``dcc.Graph`` as they are: building and
validating plotly ``Figure`` objects cost more than the queries behind them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.figures.theme import BLUE, ORANGE, VERMILLION, styled_dict, vline

Figure = dict[str, Any]


def score_histogram(bins: pd.DataFrame, *, pass_threshold: float, median: float | None) -> Figure:
    """Bars of students per score bin (bins already counted in SQL), with the pass mark and the median."""
    centres = ((bins["lower"] + bins["upper"]) / 2).tolist()
    widths = (bins["upper"] - bins["lower"]).tolist()
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(bins["lower"], bins["upper"], strict=True)]
    bar = {
        "type": "bar", "x": centres, "y": [int(c) for c in bins["count"]], "width": widths, "customdata": labels,
        "marker": {"color": BLUE, "line": {"color": "white", "width": 1}},
        "hovertemplate": "Score %{customdata}: %{y:,} students<extra></extra>", "name": "Students",
    }
    lines = [vline(pass_threshold, VERMILLION, f"pass mark {pass_threshold:g}", "left", dash="dash")]
    if median is not None:
        lines.append(vline(median, ORANGE, f"median {median:.1f}", "right"))
    layout = {
        "shapes": [shape for shape, _ in lines], "annotations": [note for _, note in lines],
        "xaxis": {"title": {"text": "Latest score"}, "range": [0, 100]},
        "yaxis": {"title": {"text": "Students"}, "rangemode": "tozero"},
    }
    return styled_dict([bar], layout, "Score distribution")


def weekly_trends(frame: pd.DataFrame) -> Figure:
    """Two stacked lines over the weeks sharing the x axis: mean attendance (%) and mean score."""
    weeks = [w.date().isoformat() for w in frame["week"]]
    attendance = {
        "type": "scatter", "x": weeks, "y": (frame["attendance"] * 100).round(2).tolist(), "mode": "lines+markers",
        "name": "Attendance %", "line": {"color": ORANGE}, "hovertemplate": "%{x}: %{y:.1f} %<extra></extra>",
        "xaxis": "x", "yaxis": "y",
    }
    score = {
        "type": "scatter", "x": weeks, "y": frame["score"].round(2).tolist(), "mode": "lines+markers", "name": "Mean score",
        "line": {"color": BLUE}, "hovertemplate": "%{x}: %{y:.1f}<extra></extra>", "xaxis": "x2", "yaxis": "y2",
    }
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        "yaxis": {"anchor": "x", "domain": [0.54, 1.0], "title": {"text": "Attendance %"}},
        "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0], "title": {"text": "Week"}},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 0.46], "title": {"text": "Mean score"}},
    }
    return styled_dict([attendance, score], layout, "Weekly attendance and scores", height=420)
