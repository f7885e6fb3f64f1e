"""The model page's chart: calibration (predicted risk against how often students were in fact at risk)."""

from __future__ import annotations

from typing import Any

from dashboard.figures.theme import BLUE, GREY, LINE_WIDTH, styled_dict


def calibration_figure(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Predicted against observed at-risk share per band of predicted risk; the diagonal is a perfect calibration."""
    xs = [round(p["predicted"] * 100, 1) for p in points]
    ys = [round(p["observed"] * 100, 1) for p in points]
    counts = [p["n"] for p in points]
    data = [
        {"type": "scatter", "mode": "lines", "x": [0, 100], "y": [0, 100], "name": "Perfectly calibrated",
         "line": {"color": GREY, "width": LINE_WIDTH, "dash": "dot"}, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys, "name": "This model", "customdata": counts,
         "line": {"color": BLUE, "width": LINE_WIDTH}, "marker": {"size": 8},
         "hovertemplate": "Predicted risk about %{x:.0f} %<br>In fact at risk: %{y:.0f} %<br>%{customdata} students"
                          "<extra></extra>"},
    ]
    layout = {"xaxis": {"title": {"text": "Predicted risk (%)"}, "range": [0, 100]},
              "yaxis": {"title": {"text": "Students in fact at risk (%)"}, "range": [0, 100]}}
    return styled_dict(data, layout, "Calibration on the held-out year")
