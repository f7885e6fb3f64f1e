"""Figures of the Effects pages: study-hours heatmap, band medians, box plots from SQL quantiles (plain-dict figures)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dashboard.figures.theme import BLUE, GREY, OKABE_ITO, SEQUENTIAL, styled_dict
from services.small_groups import MIN_COMPARE
from services.wording import students

Figure = dict[str, Any]


def _axes(x_title: str, y_title: str, y_range: list[float] | None = None) -> dict[str, Any]:
    y: dict[str, Any] = {"title": {"text": y_title}}
    if y_range is not None:
        y["range"] = y_range
    return {"xaxis": {"title": {"text": x_title}}, "yaxis": y}


def study_heatmap(cells: pd.DataFrame, *, hours_width: float, hours_max: float, score_width: float) -> Figure:
    """A 2-D histogram (counts per study-hours x score cell, counted in SQL) as a heatmap."""
    nx, ny = max(1, round(hours_max / hours_width)), round(100 / score_width)
    z = np.zeros((ny, nx))
    ix = np.round(cells["hours_lower"].to_numpy(float) / hours_width).astype(int)
    iy = np.round(cells["score_lower"].to_numpy(float) / score_width).astype(int)
    np.add.at(z, (np.clip(iy, 0, ny - 1), np.clip(ix, 0, nx - 1)), cells["count"].to_numpy(float))
    top = float(z.max()) if z.size else 0.0
    colorbar: dict[str, Any] = {"title": {"text": "Students"}, "tickformat": ",d"}
    if top <= 10:
        colorbar["dtick"] = 1  # whole students only, never "1.4 students"
    trace = {
        "type": "heatmap", "x": [(i + 0.5) * hours_width for i in range(nx)], "y": [(j + 0.5) * score_width for j in range(ny)],
        "z": [[v if v > 0 else None for v in row] for row in z.tolist()], "colorscale": SEQUENTIAL, "zmin": min(1.0, top),
        "colorbar": colorbar, "hoverongaps": False, "text": [[students(int(v)) for v in row] for row in z.tolist()],
        "hovertemplate": "%{x:.1f} h/week, score %{y:.0f}: %{text}<extra></extra>",
    }
    axes = _axes(f"Mean study hours per week (last column: {hours_max - hours_width:g} h or more)", "Latest score", [0, 100])
    return styled_dict([trace], axes, "Scores against study hours")


def _n_label(n: int) -> str:
    return f"n = {n:,}" if n >= MIN_COMPARE else f"n = {n:,}: too few"


def band_medians(bands: pd.DataFrame) -> Figure:
    """Median score per study band, the interquartile range as error bars, the count on each bar.

    Bands of fewer than ``MIN_COMPARE`` students are grey and say so: they are shown, never compared.
    """
    shown = bands[bands["n"] > 0]
    trace = {
        "type": "bar", "x": [f"{b} h" for b in shown["band"]], "y": shown["median"].tolist(),
        "marker": {"color": [BLUE if n >= MIN_COMPARE else GREY for n in shown["n"]]},
        "error_y": {"type": "data", "symmetric": False, "array": (shown["q3"] - shown["median"]).tolist(),
                    "arrayminus": (shown["median"] - shown["q1"]).tolist(), "color": "#444"},
        "text": [_n_label(int(n)) for n in shown["n"]], "textposition": "inside", "insidetextanchor": "start",
        "hovertemplate": "%{x}: median %{y:.1f} (%{text})<extra></extra>", "name": "Median score",
    }
    axes = _axes("Study hours per week (whiskers: middle half of the students)", "Median latest score", [0, 100])
    return styled_dict([trace], axes, "Median score by study band")


def level_boxes(boxes: pd.DataFrame, *, title: str, unit: str, scale: float = 1.0) -> Figure:
    """Tukey box plots per participation level from quantiles computed in SQL (no raw points)."""
    traces = [
        {
            "type": "box", "name": f"{row.level} ({_n_label(int(row.n))})", "x": [f"{row.level}<br>{_n_label(int(row.n))}"],
            "q1": [row.q1 * scale], "median": [row.median * scale], "q3": [row.q3 * scale],
            "lowerfence": [row.lower * scale], "upperfence": [row.upper * scale], "mean": [row.mean * scale],
            "marker": {"color": OKABE_ITO[i % len(OKABE_ITO)] if row.n >= MIN_COMPARE else GREY}, "boxpoints": False,
            "hovertemplate": f"{row.level}: median %{{median:.1f}} {unit}<extra></extra>",
        }
        for i, row in enumerate(boxes[boxes["n"] > 0].itertuples(index=False))
    ]
    layout = {**_axes("Sports participation", f"{title} ({unit})" if unit else title), "showlegend": False}
    return styled_dict(traces, layout, f"{title} by sports participation")
