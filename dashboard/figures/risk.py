"""Figures of the risk pages: a student's weeks beside their class, and the contributions to their risk.

Plain-dict figures (as :mod:`dashboard.figures.overview`): building and validating plotly ``Figure`` objects cost
about 100 ms per chart here, more than every query of the profile together.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.figures.theme import BLUE, LAYOUT, VERMILLION, styled_dict

Figure = dict[str, Any]
CLASS_GREY = "#6b7480"
HISTORY_HEIGHT = 560
PANELS = (
    ("attendance", "class_attendance", "Attendance %", 100.0, "%{y:.0f} %"),
    ("study_hours", "class_study_hours", "Study h/week", 1.0, "%{y:.1f} h"),
    ("score", "class_score", "Score", 1.0, "%{y:.1f}"),
)
PANEL_DOMAINS = ([0.7133333333333334, 1.0], [0.3566666666666667, 0.6433333333333333], [0.0, 0.2866666666666667])
"""The y domains of three stacked panels with ``make_subplots(rows=3, vertical_spacing=0.07)``."""


def _values(frame: pd.DataFrame, column: str, scale: float) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v) * scale, 2) for v in frame[column]]


def _axis(n: int) -> str:
    return "" if n == 1 else str(n)


def _history_traces(weeks: list[str], frame: pd.DataFrame) -> list[dict[str, Any]]:
    traces = []
    for row, (own, peer, _, scale, fmt) in enumerate(PANELS, start=1):
        axes = {"xaxis": f"x{_axis(row)}", "yaxis": f"y{_axis(row)}"}
        traces.append({"type": "scatter", "x": weeks, "y": _values(frame, own, scale), "mode": "lines+markers",
                       "name": "This student", "line": {"color": BLUE, "width": 2}, "marker": {"size": 5},
                       "showlegend": row == 1, "legendgroup": "student",
                       "hovertemplate": f"%{{x}}: {fmt}<extra>This student</extra>", **axes})
        traces.append({"type": "scatter", "x": weeks, "y": _values(frame, peer, scale), "mode": "lines",
                       "name": "Class mean", "line": {"color": CLASS_GREY, "dash": "dash"}, "showlegend": row == 1,
                       "legendgroup": "class", "hovertemplate": f"%{{x}}: {fmt}<extra>Class mean</extra>", **axes})
    return traces


def history_figure(frame: pd.DataFrame) -> Figure:
    """Three stacked panels over the weeks: the student's attendance, study hours and score, and the class mean."""
    weeks = [str(w) for w in frame["week"]]
    last = len(PANELS)
    layout: dict[str, Any] = {"margin": {**LAYOUT["margin"], "t": 84},
                              "legend": {**LAYOUT["legend"], "x": 1, "xanchor": "right", "y": 1.08}}
    for row, ((*_, title, _scale, _fmt), domain) in enumerate(zip(PANELS, PANEL_DOMAINS, strict=True), start=1):
        x = {"anchor": f"y{_axis(row)}", "domain": [0.0, 1.0]}
        x.update({"title": {"text": "Week"}} if row == last else {"matches": f"x{last}", "showticklabels": False})
        layout[f"xaxis{_axis(row)}"] = x
        layout[f"yaxis{_axis(row)}"] = {"anchor": f"x{_axis(row)}", "domain": domain, "title": {"text": title}}
    return styled_dict(_history_traces(weeks, frame), layout, "Week by week, beside the class mean", height=HISTORY_HEIGHT)


def _label(reason: dict[str, Any]) -> str:
    """The factor and the student's value, e.g. ``Attendance 71 %`` (the class median is in the list beside it)."""
    text = str(reason.get("text", reason.get("factor", "")))
    words = text.rsplit(":", 1)[0].split(", class median", 1)[0]
    return words[:1].upper() + words[1:]


def bars_height(n_factors: int) -> int:
    """Pixel height of the contributions chart for ``n_factors`` bars."""
    return max(260, 90 + 30 * n_factors)


def contribution_bars(reasons: list[dict[str, Any]]) -> Figure:
    """Horizontal bars of each factor's exact contribution (largest at the top), coloured and labelled by effect."""
    shown = [r for r in reasons if r.get("contribution") is not None]
    shown.sort(key=lambda r: abs(float(r["contribution"])))
    values = [float(r["contribution"]) for r in shown]
    bar = {
        "type": "bar", "x": values, "y": [_label(r) for r in shown], "orientation": "h",
        "marker": {"color": [VERMILLION if v > 0 else BLUE for v in values],
                   "pattern": {"shape": ["" if v > 0 else "/" for v in values]}},
        "text": ["raises risk" if v > 0 else "lowers risk" for v in values], "textposition": "inside",
        "hovertemplate": "%{y}: %{text}<extra></extra>", "name": "Contribution",
    }
    zero = {"type": "line", "x0": 0, "x1": 0, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
            "line": {"color": "#333", "width": 1}}
    # Words for teachers: the model's scale (log-odds or probability) is a detail of the model, not shown here.
    layout = {"shapes": [zero], "showlegend": False, "uniformtext": {"minsize": 10, "mode": "hide"},
              "xaxis": {"title": {"text": "← lowers risk · how much each factor moves it · raises risk →"}, "zeroline": False},
              "yaxis": {"automargin": True}}
    return styled_dict([bar], layout, "What moves this student's score", height=bars_height(len(shown)))


RISK_HISTORY_HEIGHT = 300


def _threshold_marks(threshold: float | None) -> dict[str, Any]:
    """The decision threshold as a dotted line across the plot, labelled at its top left (none: nothing)."""
    if threshold is None:
        return {}
    y = round(threshold * 100, 1)
    line = {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y",
            "line": {"color": VERMILLION, "dash": "dot"}}
    note = {"text": "decision threshold", "showarrow": False, "x": 0, "xanchor": "left", "xref": "x domain",
            "y": y, "yanchor": "bottom", "yref": "y"}
    return {"shapes": [line], "annotations": [note]}


def risk_history_figure(
    dates: list[str], probability: list[float], low: list[float], high: list[float], tiers: list[str],
    words: list[str], threshold: float | None = None,
) -> Figure:
    """A student's risk in every scoring run (whole percentages) inside its shaded interval, with the threshold."""
    pct = [round(p * 100) for p in probability]
    data = [
        {"type": "scatter", "x": dates, "y": [round(h * 100, 1) for h in high], "mode": "lines", "line": {"width": 0},
         "hoverinfo": "skip", "showlegend": False, "name": "likely up to"},
        {"type": "scatter", "x": dates, "y": [round(v * 100, 1) for v in low], "mode": "lines", "line": {"width": 0},
         "fill": "tonexty", "fillcolor": "rgba(0, 114, 178, 0.18)", "hoverinfo": "skip", "name": "Likely range"},
        {"type": "scatter", "x": dates, "y": pct, "mode": "lines+markers", "name": "Estimated risk",
         "line": {"color": BLUE, "width": 2}, "marker": {"size": 7},
         "customdata": [[w, t] for w, t in zip(words, tiers, strict=True)],
         "hovertemplate": "%{x}: %{customdata[0]} (%{customdata[1]})<extra></extra>"},
    ]
    layout = {**_threshold_marks(threshold), "yaxis": {"title": {"text": "Risk %"}, "range": [0, 100]},
              "xaxis": {"title": {"text": "Scored as of"}, "type": "category"}}
    return styled_dict(data, layout, "Risk over time, with its likely range", height=RISK_HISTORY_HEIGHT)
