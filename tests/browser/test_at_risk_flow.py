"""The at-risk list as a teacher uses it, in headless Chromium: filters and tier in the URL, the first click on a
row opens the profile, "Back to the at-risk list" returns to the same list; the table on a tablet."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from tests.browser import test_risk_browser as risk
from tests.browser.browsing import LAPTOP, TABLET, log_in
from tests.browser.test_risk_browser import TIER_CELLS, ScoredSchool, _tiers

pytestmark = pytest.mark.browser

scored = risk.scored  # the module's fixture: 200 scored students, an admin and a teacher of one class
SHOTS = os.environ.get("AT_RISK_SHOTS")  # a folder: save screenshots there to look at (no assertion on them)
DESKTOP = (1440, 900)


def _query(driver) -> dict[str, list[str]]:  # noqa: ANN001
    return parse_qs(urlsplit(driver.current_url).query)


def _shot(dash_duo, name: str) -> None:  # noqa: ANN001
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        dash_duo.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def test_teacher_opens_a_high_student_from_a_filtered_list_and_comes_back(dash_duo, scored: ScoredSchool) -> None:
    log_in(dash_duo, scored.dash_app, scored.emails["teacher"], "/at-risk", LAPTOP)
    driver = dash_duo.driver
    _tiers(dash_duo)
    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_ATTENDANCE}", value="≥ 50 %")
    WebDriverWait(driver, 20).until(lambda d: _query(d).get("att") == ["50"])
    driver.find_element(By.XPATH, f"//*[@id='{ids.RISK_TIER}']//label[contains(., 'High')]").click()
    WebDriverWait(driver, 20).until(lambda d: _query(d).get("tier") == ["High"] and set(_tiers(dash_duo)) == {"▲ High"})
    assert _query(driver).get("att") == ["50"]  # the tier joined the filters, it did not replace them

    driver.find_elements(By.CSS_SELECTOR, TIER_CELLS)[0].click()  # the first click opens the profile
    WebDriverWait(driver, 15).until(lambda d: "/students/" in d.current_url)
    dash_duo.wait_for_contains_text(f"#{ids.STUDENT_RISK}", "High", timeout=30)
    back = dash_duo.find_element(".profile-back")
    assert parse_qs(urlsplit(back.get_attribute("href")).query) == {"att": ["50"], "tier": ["High"]}

    back.click()
    WebDriverWait(driver, 15).until(lambda d: urlsplit(d.current_url).path == "/at-risk")
    assert _query(driver) == {"att": ["50"], "tier": ["High"]}
    WebDriverWait(driver, 20).until(lambda d: set(_tiers(dash_duo)) == {"▲ High"})
    assert "50" in dash_duo.find_element(f"#{ids.FILTER_ATTENDANCE}").text
    checked = driver.find_element(By.CSS_SELECTOR, f"#{ids.RISK_TIER} input:checked")
    assert checked.get_attribute("value") == "High"


def test_sort_and_page_survive_a_reload(dash_duo, scored: ScoredSchool) -> None:
    log_in(dash_duo, scored.dash_app, scored.emails["admin"], "/at-risk", LAPTOP)
    driver = dash_duo.driver
    _tiers(dash_duo)
    button = driver.find_element(By.CSS_SELECTOR, f"#{ids.RISK_TABLE} button.next-page")
    driver.execute_script("arguments[0].click();", button)  # below the fold: a script click, as a tap would
    WebDriverWait(driver, 20).until(lambda d: _query(d).get("page") == ["2"])
    dash_duo.wait_for_contains_text(f"#{ids.RISK_STATUS}", "Showing 26–50", timeout=20)
    driver.refresh()
    dash_duo.wait_for_contains_text(f"#{ids.RISK_STATUS}", "Showing 26–50", timeout=20)
    assert _query(driver) == {"page": ["2"]}


def _lines(dash_duo, column: str) -> int:  # noqa: ANN001
    """The most lines any cell of ``column`` takes on screen."""
    return dash_duo.driver.execute_script(
        "return Math.max(...Array.from(document.querySelectorAll(arguments[0])).map(td => {"
        " const r = document.createRange(); r.selectNodeContents(td);"
        " return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; }));",
        f"#{ids.RISK_TABLE} td[data-dash-column={column}]")


@pytest.mark.parametrize("size", [DESKTOP, TABLET], ids=["1440", "768"])
def test_the_table_fits_the_screen(dash_duo, scored: ScoredSchool, size: tuple[int, int]) -> None:
    log_in(dash_duo, scored.dash_app, scored.emails["admin"], "/at-risk", size)
    _tiers(dash_duo)
    dash_duo.wait_for_contains_text(f"#{ids.RISK_STATUS}", "of 200 students", timeout=20)
    _shot(dash_duo, f"at-risk-{size[0]}")
    assert _lines(dash_duo, "tier") == 1 and _lines(dash_duo, "probability") == 1
    right = dash_duo.driver.execute_script(
        "const t = document.querySelector(arguments[0]).getBoundingClientRect(); return t.right - window.innerWidth;",
        f"#{ids.RISK_TABLE} th[data-dash-column=attendance]")
    assert right <= 0, f"the last column ends {right}px past the right edge"
    height = dash_duo.driver.execute_script("return document.documentElement.scrollHeight")
    assert height < 2400, f"the page is {height}px tall"
