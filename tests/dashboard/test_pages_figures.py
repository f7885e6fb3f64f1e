"""The pure figure builders: plain data in, a plain-dict figure out (valid plotly), Okabe-Ito colours, no raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.effects import band_medians, level_boxes, study_heatmap
from dashboard.figures.overview import score_histogram, weekly_trends
from dashboard.figures.theme import OKABE_ITO


def _valid(fig: dict) -> go.Figure:
    """Every property of the dict is one plotly knows (``go.Figure`` validates them all), with the house template."""
    assert isinstance(fig, dict) and fig["layout"]["template"]["layout"]
    return go.Figure(fig)


def test_histogram_keeps_counts_and_marks_the_pass_line() -> None:
    bins = pd.DataFrame({"lower": [0.0, 50.0], "upper": [50.0, 100.0], "count": [3, 7]})
    fig = _valid(score_histogram(bins, pass_threshold=60, median=62.5))
    assert list(fig.data[0].y) == [3, 7] and fig.data[0].marker.color in OKABE_ITO
    assert any("pass mark 60" in a.text for a in fig.layout.annotations)
    assert [s.x0 for s in fig.layout.shapes] == [60, 62.5]


def test_trends_show_attendance_in_percent() -> None:
    frame = pd.DataFrame({"week": pd.to_datetime(["2025-09-01", "2025-09-08"]), "attendance": [0.9, 0.85], "score": [70.0, 71.0]})
    fig = _valid(weekly_trends(frame))
    assert list(fig.data[0].y) == [90.0, 85.0] and list(fig.data[1].y) == [70.0, 71.0]
    assert fig.data[1].yaxis == "y2" and fig.layout.xaxis.matches == "x2"


def test_heatmap_places_every_count() -> None:
    cells = pd.DataFrame({"hours_lower": [0.0, 2.0, 4.0], "score_lower": [50.0, 95.0, 0.0], "count": [4, 2, 1]})
    fig = _valid(study_heatmap(cells, hours_width=2.0, hours_max=6.0, score_width=5.0))
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (20, 3) and np.nansum(z) == 7 and z[10, 0] == 4 and z[19, 1] == 2


def test_bands_and_boxes_skip_empty_groups() -> None:
    bands = pd.DataFrame({"band": ["0-1", "1-3"], "n": [0, 5], "q1": [np.nan, 60.0], "median": [np.nan, 65.0], "q3": [np.nan, 70.0]})
    assert list(_valid(band_medians(bands)).data[0].x) == ["1-3 h"]
    boxes = pd.DataFrame({"metric": ["attendance"] * 2, "level": ["none", "regular"], "n": [0, 9], "lower": [np.nan, 0.7],
                          "q1": [np.nan, 0.8], "median": [np.nan, 0.9], "q3": [np.nan, 0.95], "upper": [np.nan, 1.0],
                          "mean": [np.nan, 0.88], "var": [np.nan, 0.01]})
    fig = _valid(level_boxes(boxes, title="Attendance", unit="%", scale=100.0))
    assert len(fig.data) == 1 and list(fig.data[0].median) == [90.0]


def test_profile_history_stacks_three_panels_on_one_week_axis() -> None:
    from dashboard.figures.risk import history_figure

    frame = pd.DataFrame({"week": [pd.Timestamp("2025-09-01").date(), pd.Timestamp("2025-09-08").date()],
                          "attendance": [0.9, np.nan], "study_hours": [3.0, 2.5], "score": [70.0, 71.5],
                          "class_attendance": [0.88, 0.87], "class_study_hours": [2.0, 2.1], "class_score": [69.0, np.nan]})
    fig = _valid(history_figure(frame))
    assert [t.yaxis for t in fig.data] == ["y", "y", "y2", "y2", "y3", "y3"]
    assert list(fig.data[0].y) == [90.0, None] and list(fig.data[5].y) == [69.0, None]
    assert [t.showlegend for t in fig.data] == [True, True, False, False, False, False]
    assert fig.layout.xaxis.matches == "x3" and fig.layout.xaxis3.title.text == "Week" and fig.layout.height == 560


def test_contribution_bars_put_the_largest_on_top_coloured_by_effect() -> None:
    from dashboard.figures.risk import bars_height, contribution_bars

    reasons = [{"text": "Attendance 71 %, class median 90 %: raises risk", "contribution": 0.8},
               {"text": "score mean 80: lowers", "contribution": -0.3}, {"text": "none", "contribution": None}]
    fig = _valid(contribution_bars(reasons))
    bar = fig.data[0]
    assert list(bar.y) == ["Score mean 80", "Attendance 71 %"] and list(bar.x) == [-0.3, 0.8]
    assert list(bar.marker.color) == [OKABE_ITO[0], OKABE_ITO[3]] and list(bar.text) == ["lowers risk", "raises risk"]
    assert fig.layout.shapes[0].x0 == 0 and fig.layout.height == bars_height(2)


def test_risk_history_draws_the_threshold_only_when_there_is_one() -> None:
    from dashboard.figures.risk import risk_history_figure

    args = (["2025-09-01", "2025-10-01"], [0.31, 0.55], [0.2, 0.4], [0.4, 0.7], ["Moderate", "High"], ["31 %", "55 %"])
    fig = _valid(risk_history_figure(*args, 0.5))
    assert list(fig.data[2].y) == [31, 55] and list(fig.data[0].y) == [40.0, 70.0] and fig.data[1].fill == "tonexty"
    assert fig.layout.shapes[0].y0 == 50.0 and fig.layout.annotations[0].text == "decision threshold"
    bare = _valid(risk_history_figure(*args))
    assert not bare.layout.shapes and not bare.layout.annotations
