"""Figures of the Overview page: the score histogram and the weekly trends (plain data in, a plain-dict figure out).

Plain dicts (``{"data": [...], "layout": {...}}``) go to ``dcc.Graph`` as they are: building and
validating plotly ``Figure`` objects cost more than the queries behind them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dashboard.figures.theme import BLUE, ORANGE, VERMILLION, styled_dict, vline
from services.wording import students

Figure = dict[str, Any]
ATTENDANCE_FLOOR = 50.0  # the attendance axis starts here (or lower, in steps of 10, when the data does)
SCORE_MIN_SPAN = 20.0  # the score axis spans at least this many points, so noise does not look like a swing


def score_histogram(bins: pd.DataFrame, *, pass_threshold: float, median: float | None) -> Figure:
    """Bars of students per score bin (bins already counted in SQL), with the pass mark and the median."""
    centres = ((bins["lower"] + bins["upper"]) / 2).tolist()
    widths = (bins["upper"] - bins["lower"]).tolist()
    labels = [f"Score {lo:g}-{hi:g}: {students(int(n))}" for lo, hi, n in zip(bins["lower"], bins["upper"], bins["count"], strict=True)]
    bar = {
        "type": "bar", "x": centres, "y": [int(c) for c in bins["count"]], "width": widths, "customdata": labels,
        "marker": {"color": BLUE, "line": {"color": "white", "width": 1}},
        "hovertemplate": "%{customdata}<extra></extra>", "name": "Students",
    }
    lines = [vline(pass_threshold, VERMILLION, f"pass mark {pass_threshold:g}", "left", dash="dash")]
    if median is not None:
        lines.append(vline(median, ORANGE, f"median {median:.1f}", "right"))
    layout = {
        "shapes": [shape for shape, _ in lines], "annotations": [note for _, note in lines],
        "xaxis": {"title": {"text": "Latest score"}, "range": [0, 100]},
        "yaxis": {"title": {"text": "Students"}, "rangemode": "tozero"},
        "margin": {"l": 56, "r": 16, "t": 76, "b": 48},  # room for the line labels between the title and the bars
    }
    return styled_dict([bar], layout, "Score distribution")


def attendance_range(values: pd.Series) -> list[float]:
    """From :data:`ATTENDANCE_FLOOR` % (lower in steps of 10 when a week falls below it) to 100 %."""
    low = values.min() if len(values) and not math.isnan(values.min()) else ATTENDANCE_FLOOR
    return [max(0.0, min(ATTENDANCE_FLOOR, math.floor(low / 10) * 10)), 100.0]


def score_range(values: pd.Series) -> list[float]:
    """The data's range widened to at least :data:`SCORE_MIN_SPAN` points around its middle, inside 0-100."""
    lo, hi = (values.min(), values.max()) if len(values) and not math.isnan(values.min()) else (50.0, 50.0)
    span = max(SCORE_MIN_SPAN, (hi - lo) * 1.2)
    start = min(max(0.0, (lo + hi - span) / 2), 100.0 - span)
    return [math.floor(start), math.ceil(start + span)]


def weekly_trends(frame: pd.DataFrame) -> Figure:
    """Two stacked lines over the weeks sharing the x axis: mean attendance (%) and mean score, on honest ranges."""
    weeks = [w.date().isoformat() for w in frame["week"]]
    attendance_pct, score = (frame["attendance"] * 100).round(2), frame["score"].round(2)
    attendance = {
        "type": "scatter", "x": weeks, "y": attendance_pct.tolist(), "mode": "lines+markers", "marker": {"size": 4},
        "name": "Mean attendance (%)", "line": {"color": ORANGE}, "hovertemplate": "Week of %{x}: %{y:.1f} % attended<extra></extra>",
        "xaxis": "x", "yaxis": "y",
    }
    scores = {
        "type": "scatter", "x": weeks, "y": score.tolist(), "mode": "lines+markers", "marker": {"size": 4},
        "name": "Mean score (points)", "line": {"color": BLUE}, "hovertemplate": "Week of %{x}: mean score %{y:.1f}<extra></extra>",
        "xaxis": "x2", "yaxis": "y2",
    }
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        "yaxis": {"anchor": "x", "domain": [0.56, 1.0], "title": {"text": "Attendance %"}, "range": attendance_range(attendance_pct),
                  "ticksuffix": " %"},
        "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 0.44], "title": {"text": "Score"}, "range": score_range(score)},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    }
    return styled_dict([attendance, scores], layout, "Attendance and scores, week by week", height=420)


TRENDS_NOTE = (
    f"Each point is one week's mean over the students shown: attendance as the mean attendance rate, score as "
    f"the mean of that week's marks. The attendance axis starts at {ATTENDANCE_FLOOR:g} % and the score axis spans at "
    f"least {SCORE_MIN_SPAN:g} points, so week-to-week noise stays small on screen."
)
