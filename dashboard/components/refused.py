"""The page-not-found view, one for every refusal: an unknown address and a page the viewer may not open look alike."""

from __future__ import annotations

from dash import html


def not_found_view() -> html.Div:
    """One sentence and a way back."""
    return html.Div(
        [html.H2("Page not found"), html.P("There is no page at this address."), html.A("Back to the overview", href="/")],
        className="not-found",
    )
