"""The page shown for an address that matches no page."""

from __future__ import annotations

import dash
from dash import html

dash.register_page(__name__, path="/404", title="Not found")


def layout(**_query: str) -> html.Div:
    """One sentence and a way back."""
    return html.Div(
        [html.H2("Page not found"), html.P("There is no page at this address."), html.A("Back to the overview", href="/")],
        className="not-found",
    )
