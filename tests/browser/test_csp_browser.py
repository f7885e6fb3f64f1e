"""The pages still work under the Content-Security-Policy (scripts only from the site or with the inline hashes)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from selenium.webdriver.support.ui import WebDriverWait

from core.settings import Settings
from dashboard import ids
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from etl.generate import write_school
from etl.pipeline import ingest_file
from services.users import add_user
from tests.browser.browsing import PASSWORD, base_url, log_in
from tests.conftest import truncate_data

pytestmark = pytest.mark.browser

STUDENTS_KPI = f"#{ids.KPI_CARD}-students .kpi-value"
PAGES = ("/effects/study-hours", "/effects/sports", "/at-risk", "/")


@pytest.fixture(scope="module")
def csp_school(database: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    """A small generated school and an admin login; the Dash app of a fresh server."""
    truncate_data(database)
    path = write_school(Path(tmp_path_factory.mktemp("csp")) / "school.csv", 60, seed=5)
    assert ingest_file(database, path, force=True).status == "succeeded"
    email = f"browser-csp-{uuid.uuid4().hex[:6]}@test.school"
    with database.begin() as s:
        add_user(s, email=email, password=PASSWORD, role="admin")
    server = create_app(settings.with_(secure_cookies=False))
    yield server.extensions[DASH_KEY], email
    truncate_data(database)


def _csp_violations(driver) -> list[str]:  # noqa: ANN001
    messages = [entry.get("message", "") for entry in driver.get_log("browser")]
    return [m for m in messages if "Content Security Policy" in m or "Refused to" in m]


def test_pages_render_under_the_csp_without_violations(dash_duo, csp_school) -> None:
    dash_app, email = csp_school
    log_in(dash_duo, dash_app, email)
    policy = requests.get(f"{base_url(dash_duo)}/login", timeout=10).headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.find_elements("css selector", STUDENTS_KPI))
    dash_duo.wait_for_text_to_equal(STUDENTS_KPI, "60", timeout=20)
    violations = _csp_violations(dash_duo.driver)
    assert violations == []
    dash_duo.wait_for_element(f"#{ids.OVERVIEW_DISTRIBUTION_GRAPH} .main-svg", timeout=30)  # Plotly drew under the policy
    for path in PAGES:
        dash_duo.driver.get(f"{base_url(dash_duo)}{path}")
        dash_duo.wait_for_element("#_pages_content", timeout=20)
        WebDriverWait(dash_duo.driver, 20).until(
            lambda d: d.execute_script("return !document.querySelector('._dash-loading') && document.readyState === 'complete'")
        )
        violations += _csp_violations(dash_duo.driver)
    dash_duo.wait_for_text_to_equal(STUDENTS_KPI, "60", timeout=20)
    assert violations == []


def test_an_inline_script_without_a_hash_is_blocked(dash_duo, csp_school) -> None:
    """The policy is really enforced: a script injected as inline HTML does not run."""
    dash_app, email = csp_school
    log_in(dash_duo, dash_app, email)
    dash_duo.wait_for_text_to_equal(STUDENTS_KPI, "60", timeout=20)
    dash_duo.driver.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__injected = true;'; document.body.appendChild(s);"
    )
    assert dash_duo.driver.execute_script("return window.__injected === true") is False
    assert _csp_violations(dash_duo.driver)
