"""The look shared by every figure: the Okabe-Ito colour-blind-safe palette and a plain layout."""

from __future__ import annotations

import plotly.graph_objects as go

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
