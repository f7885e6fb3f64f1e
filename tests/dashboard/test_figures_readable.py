"""The figures read right: reference lines are drawn, trend axes do not blow noise up, small groups are marked,
the toolbar holds only the tools people use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.figures.effects import band_medians, level_boxes, study_heatmap
from dashboard.figures.overview import (
    SCORE_MIN_SPAN,
    attendance_range,
    score_histogram,
    score_range,
    weekly_trends,
)
from dashboard.figures.theme import GRAPH_CONFIG, GREY, template
from services.small_groups import MIN_COMPARE


def test_pass_mark_and_median_lines_have_a_width_the_template_does_not_erase() -> None:
    assert template()["layout"]["shapedefaults"]["line"]["width"] == 0  # why every shape must set its own
    bins = pd.DataFrame({"lower": [0.0, 50.0], "upper": [50.0, 100.0], "count": [3, 1]})
    fig = go.Figure(score_histogram(bins, pass_threshold=60, median=62.5))
    assert len(fig.layout.shapes) == 2
    for shape in fig.layout.shapes:
        assert shape.line.width >= 1 and shape.opacity == 1
    assert fig.data[0].customdata[1] == "Score 50-100: 1 student"


def test_trend_axes_show_noise_as_noise() -> None:
    weeks = pd.to_datetime(["2025-09-01", "2025-09-08", "2025-09-15"])
    frame = pd.DataFrame({"week": weeks, "attendance": [0.906, 0.910, 0.908], "score": [68.1, 68.3, 68.2]})
    fig = go.Figure(weekly_trends(frame))
    low, high = fig.layout.yaxis.range
    assert low <= 50 and high == 100
    s_low, s_high = fig.layout.yaxis2.range
    assert s_high - s_low >= SCORE_MIN_SPAN and s_low <= 68.1 and s_high >= 68.3
    assert fig.data[0].name == "Mean attendance (%)" and fig.data[1].name == "Mean score (points)"


@pytest.mark.parametrize(("values", "want_low"), [([91.0, 90.6], 50.0), ([42.0, 80.0], 40.0), ([3.0], 0.0)])
def test_attendance_axis_starts_at_fifty_or_below_the_data(values: list[float], want_low: float) -> None:
    assert attendance_range(pd.Series(values)) == [want_low, 100.0]


def test_score_axis_stays_inside_zero_to_hundred() -> None:
    assert score_range(pd.Series([99.0, 99.5])) == [80, 100]
    assert score_range(pd.Series([1.0])) == [0, 20]
    wide = score_range(pd.Series([20.0, 90.0]))
    assert wide[0] <= 20 and wide[1] >= 90


def test_small_groups_are_grey_and_say_too_few() -> None:
    n_small = MIN_COMPARE - 1
    bands = pd.DataFrame({"band": ["0-1", "1-3"], "n": [n_small, 40], "q1": [50.0, 60.0], "median": [55.0, 65.0], "q3": [60.0, 70.0]})
    bar = go.Figure(band_medians(bands)).data[0]
    assert list(bar.marker.color)[0] == GREY and list(bar.marker.color)[1] != GREY
    assert list(bar.text) == [f"n = {n_small}: too few", "n = 40"]
    boxes = pd.DataFrame({"metric": ["score"] * 2, "level": ["none", "regular"], "n": [2, 30], "lower": [40.0, 45.0],
                          "q1": [50.0, 55.0], "median": [55.0, 60.0], "q3": [60.0, 65.0], "upper": [70.0, 75.0],
                          "mean": [55.0, 60.0], "var": [1.0, 1.0]})
    traces = go.Figure(level_boxes(boxes, title="Latest score", unit="points")).data
    assert traces[0].marker.color == GREY and "too few" in traces[0].x[0] and "too few" not in traces[1].x[0]


def test_heatmap_counts_whole_students() -> None:
    cells = pd.DataFrame({"hours_lower": [0.0, 2.0], "score_lower": [50.0, 60.0], "count": [1, 2]})
    trace = go.Figure(study_heatmap(cells, hours_width=2.0, hours_max=4.0, score_width=5.0)).data[0]
    assert trace.colorbar.dtick == 1 and trace.colorbar.tickformat == ",d"
    text = np.array(trace.text)
    assert text[10, 0] == "1 student" and text[12, 1] == "2 students"


def test_toolbar_has_only_download_and_reset() -> None:
    assert GRAPH_CONFIG["modeBarButtons"] == [["toImage", "resetScale2d"]]
    assert GRAPH_CONFIG["displayModeBar"] == "hover" and GRAPH_CONFIG["displaylogo"] is False
