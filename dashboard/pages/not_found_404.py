"""The page shown for an address that matches no page."""

from __future__ import annotations

import dash
from dash import html

from dashboard.components.refused import not_found_view

dash.register_page(__name__, path="/404", title="Not found")


def layout(**_query: str) -> html.Div:
    """One sentence and a way back."""
    return not_found_view()
