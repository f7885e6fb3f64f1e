"""The browser toolchain itself works: Dash served on localhost, rendered in headless Chromium."""

from __future__ import annotations

import pytest
from dash import Dash, Input, Output, html

pytestmark = pytest.mark.browser


def test_dash_renders_in_headless_chromium(dash_duo) -> None:
    app = Dash(__name__)
    app.layout = html.Div([html.Button("go", id="btn"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"))
    def _clicked(n):  # noqa: ANN001, ANN202
        return f"clicked {n or 0}"

    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#out", "clicked 0")
    dash_duo.find_element("#btn").click()
    dash_duo.wait_for_text_to_equal("#out", "clicked 1")
