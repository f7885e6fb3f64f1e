"""The look shared by every figure: the Okabe-Ito colour-blind-safe palette and a plain layout."""

from __future__ import annotations

from functools import cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY = OKABE_ITO[:6]
SEQUENTIAL = "Cividis"  # perceptually uniform and readable with every common colour-vision deficiency
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
GREY = "#8c96a0"  # groups too small to compare
LINE_WIDTH = 2  # simple_white's shape defaults draw lines 0 px wide at 30 % opacity: every shape sets its own

GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "displayModeBar": "hover",
    # only the tools people use: a PNG of the chart, and back to the whole chart after a drag-zoom
    "modeBarButtons": [["toImage", "resetScale2d"]],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
"""``dcc.Graph(config=...)`` of every chart; the toolbar shows on hover (see assets/analytics.css)."""


LAYOUT = {
    "height": 360,
    "margin": {"l": 56, "r": 16, "t": 56, "b": 48},
    "font": {"family": FONT, "size": 13},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    "hoverlabel": {"font": {"family": FONT}},
}


@cache
def template() -> dict[str, Any]:
    """The ``simple_white`` template as plain JSON (plotly.js needs the object, not its name), built once."""
    return pio.templates["simple_white"].to_plotly_json()


def styled_dict(data: list[dict[str, Any]], layout: dict[str, Any], title: str, *, height: int = 360) -> dict[str, Any]:
    """A plain-dict figure with the house layout: what ``styled`` gives, without building plotly objects."""
    full = {**LAYOUT, "template": template(), "title": {"text": title, "x": 0.01, "font": {"size": 16}}, "height": height}
    return {"data": data, "layout": {**full, **layout}}


def vline(x: float, color: str, text: str, side: str, *, dash: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A vertical line across the plot at ``x`` with a label just above the plot (``side``: left or right of the line)."""
    line = {"color": color, "width": LINE_WIDTH, **({"dash": dash} if dash else {})}
    shape = {"type": "line", "xref": "x", "yref": "y domain", "x0": x, "x1": x, "y0": 0, "y1": 1, "line": line, "opacity": 1}
    note = {"text": text, "x": x, "xref": "x", "y": 1, "yref": "y domain", "showarrow": False, "yanchor": "bottom",
            "xanchor": "right" if side == "left" else "left", "xshift": -3 if side == "left" else 3}
    return shape, note


def styled(fig: go.Figure, title: str, *, height: int = 360) -> go.Figure:
    """Apply the house layout: white template, small margins, legend on top, readable font."""
    fig.update_layout(
        template="simple_white",
        title={"text": title, "x": 0.01, "font": {"size": 16}},
        height=height,
        margin={"l": 56, "r": 16, "t": 56, "b": 48},
        font={"family": FONT, "size": 13},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig
