"""Indicators in headless Chromium: the at-risk list shows them in words and filters by them, a click on a segment
of the overview opens the list filtered to it, and a staff member downloads a student's PDF from the profile."""

from __future__ import annotations

import io
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from dashboard import ids
from db.database import Database
from services.indicators import LABELS, SHORT_LABELS
from services.users import add_user
from tests.browser import test_risk_browser as risk
from tests.browser.browsing import LAPTOP, PASSWORD, base_url, log_in
from tests.browser.test_risk_browser import ScoredSchool

pytestmark = pytest.mark.browser

scored = risk.scored  # 200 generated students through the ETL (indicators computed by the load), scored
INDICATOR_CELLS = f"#{ids.RISK_TABLE} td[data-dash-column=indicators]"


@pytest.fixture(scope="module")
def staff_email(scored: ScoredSchool, database: Database) -> str:
    """A staff member of the scored school (staff are school-scoped: they see only the schools they are given)."""
    email = f"indicators-staff-{uuid.uuid4().hex[:6]}@test.school"
    with database.begin() as s:
        schools = [str(i) for i in s.execute(text("SELECT id FROM schools")).scalars()]
        add_user(s, email=email, password=PASSWORD, role="staff", schools=schools)
    return email


def _query(driver) -> dict[str, list[str]]:  # noqa: ANN001
    return parse_qs(urlsplit(driver.current_url).query)


def _cells(dash_duo) -> list[str]:  # noqa: ANN001
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, INDICATOR_CELLS))
    return [c.text for c in dash_duo.driver.find_elements(By.CSS_SELECTOR, INDICATOR_CELLS)]


def test_the_list_shows_indicator_words_and_filters_by_any_indicator(dash_duo, scored: ScoredSchool) -> None:
    log_in(dash_duo, scored.dash_app, scored.emails["admin"], "/at-risk", LAPTOP)
    cells = _cells(dash_duo)
    assert any(SHORT_LABELS["absence"] in c for c in cells) or any(SHORT_LABELS["grades"] in c for c in cells)
    dash_duo.select_dcc_dropdown(f"#{ids.RISK_INDICATOR}", value="Any indicator")
    WebDriverWait(dash_duo.driver, 20).until(lambda d: _query(d).get("ind") == ["any"])
    WebDriverWait(dash_duo.driver, 20).until(lambda d: all(c != "–" for c in _cells(dash_duo)))
    assert all(any(label in c for label in SHORT_LABELS.values()) for c in _cells(dash_duo))


def test_a_click_on_a_segment_opens_the_list_filtered_to_it(dash_duo, scored: ScoredSchool) -> None:
    log_in(dash_duo, scored.dash_app, scored.emails["admin"], "/", LAPTOP)
    driver = dash_duo.driver
    links = f"#{ids.OVERVIEW_SEGMENTS} a.segment-link"
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, links))
    link = next(a for a in driver.find_elements(By.CSS_SELECTOR, links) if "+" in a.text)  # a combination
    wanted = [SHORT_LABELS[k] for k, label in LABELS.items() if label in link.text]
    assert len(wanted) >= 2
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", link)  # charts
    # still loading above it may shift the page under a pointer click: a tap on the link itself, as a user would
    WebDriverWait(driver, 20).until(lambda d: urlsplit(d.current_url).path == "/at-risk")
    assert _query(driver)["ind"][0].startswith("is-")
    WebDriverWait(driver, 20).until(lambda d: _cells(dash_duo) and all(
        sorted(line.split(" ", 1)[1] for line in c.splitlines()) == sorted(wanted) for c in _cells(dash_duo)))
    assert "Exactly:" in dash_duo.find_element(f"#{ids.RISK_INDICATOR}").text


def test_a_staff_member_downloads_the_student_pdf(dash_duo, scored: ScoredSchool, staff_email: str,
                                                  database: Database) -> None:
    with database.begin() as s:
        sid, name = s.execute(text("SELECT st.id, st.name FROM students st JOIN predictions p ON p.student_id = st.id "
                                   "ORDER BY p.probability DESC LIMIT 1")).one()
    log_in(dash_duo, scored.dash_app, staff_email, f"/students/{sid}", LAPTOP)
    dash_duo.wait_for_contains_text(f"#{ids.STUDENT_INDICATORS}", "Chronic absence", timeout=30)
    link = dash_duo.find_element(f"#{ids.STUDENT_PDF}")
    href = link.get_attribute("href")
    assert urlsplit(href).path == f"/students/{sid}/profile.pdf" and link.text == "Download PDF"
    cookies = {c["name"]: c["value"] for c in dash_duo.driver.get_cookies()}  # the staff member's own session
    r = requests.get(f"{base_url(dash_duo)}/students/{sid}/profile.pdf", cookies=cookies, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    words = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert name in words and "Indicators" in words and "Open interventions" in words
    anonymous = requests.get(f"{base_url(dash_duo)}/students/{sid}/profile.pdf", timeout=60, allow_redirects=False)
    assert anonymous.status_code in (302, 401) and not anonymous.content.startswith(b"%PDF")
