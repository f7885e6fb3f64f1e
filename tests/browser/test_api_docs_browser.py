"""The API's docs page in a real browser: Swagger UI from local files draws the document under the CSP."""

from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from core.settings import Settings
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from services.users import add_user
from tests.browser.browsing import PASSWORD, log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def docs_app(database: Database, settings: Settings) -> tuple[object, str]:
    """A staff login and the Dash app of a fresh server."""
    email = f"browser-docs-{uuid.uuid4().hex[:6]}@test.school"
    with database.begin() as s:
        add_user(s, email=email, password=PASSWORD, role="staff")
    return create_app(settings.with_(secure_cookies=False)).extensions[DASH_KEY], email


def test_docs_page_draws_every_endpoint_without_csp_violations(dash_duo, docs_app, tmp_path) -> None:
    dash_app, email = docs_app
    log_in(dash_duo, dash_app, email, next_path="/api/v1/docs")
    driver = dash_duo.driver
    assert driver.current_url.endswith("/api/v1/docs")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements("css selector", ".opblock-summary-path"))
    paths = {e.get_attribute("data-path") or e.text for e in driver.find_elements("css selector", ".opblock-summary-path")}
    assert {"/api/v1/kpis", "/api/v1/at-risk", "/api/v1/ingest"} <= {p.replace("\u200b", "") for p in paths}
    assert "Student performance API" in driver.find_element("css selector", ".info .title").text
    messages = [entry.get("message", "") for entry in driver.get_log("browser")]
    assert [m for m in messages if "Content Security Policy" in m or "Refused to" in m] == []
    driver.save_screenshot(str(tmp_path / "api-docs.png"))  # kept by pytest's tmp_path for a look when it fails
