"""The at-risk list and the student profile in headless Chromium: tiers shown, a row click opens the explanation,
a teacher's scope, a tablet."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from core.settings import Settings
from dashboard import ids
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from etl.generate import write_school
from etl.pipeline import ingest_file
from ml.score import score_all
from ml.train import train_and_register
from services.users import add_user
from tests.browser.browsing import LAPTOP, PASSWORD, TABLET, base_url, log_in
from tests.conftest import truncate_data

pytestmark = pytest.mark.browser

TIER_CELLS = f"#{ids.RISK_TABLE} td[data-dash-column=tier]"


@dataclass(frozen=True)
class ScoredSchool:
    """The app, one login per role, the teacher's class and a student of another class."""

    dash_app: object
    emails: dict[str, str]
    teacher_class: str
    outsider: int


def _wipe(database: Database) -> None:
    truncate_data(database, extra=("model_versions",))


@pytest.fixture(scope="module")
def scored(database: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoredSchool]:
    """200 generated students through the ETL, a trained model, every student scored, and the logins."""
    folder = Path(tmp_path_factory.mktemp("risk-browser"))
    _wipe(database)
    report = ingest_file(database, write_school(folder / "school.csv", 200, seed=5, years=2), force=True)
    assert report.status == "succeeded", report.message
    train_and_register(database, settings.with_(home=folder), seed=0)
    score_all(database, settings.with_(home=folder))
    with database.begin() as s:
        classes = s.execute(text("SELECT c.name, min(ss.student_id), c.id FROM classes c JOIN student_summary ss "
                                 "ON ss.class_id = c.id WHERE c.school_year = (SELECT max(school_year) FROM classes) "
                                 "GROUP BY c.name, c.id ORDER BY c.name")).all()
    mine, other = classes[0], classes[-1]
    tag = uuid.uuid4().hex[:6]
    emails = {role: f"risk-{role}-{tag}@test.school" for role in ("admin", "teacher")}
    with database.begin() as s:
        add_user(s, email=emails["admin"], password=PASSWORD, role="admin")
        add_user(s, email=emails["teacher"], password=PASSWORD, role="teacher", classes=[str(mine[2])])
    server = create_app(settings.with_(secure_cookies=False))
    yield ScoredSchool(server.extensions[DASH_KEY], emails, mine[0], int(other[1]))
    _wipe(database)


def _base(dash_duo) -> str:  # noqa: ANN001
    return base_url(dash_duo)


def _log_in(dash_duo, school: ScoredSchool, role: str, next_path: str = "/at-risk", size: tuple[int, int] = LAPTOP) -> None:  # noqa: ANN001
    log_in(dash_duo, school.dash_app, school.emails[role], next_path, size)


def _tiers(dash_duo) -> list[str]:  # noqa: ANN001
    WebDriverWait(dash_duo.driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, TIER_CELLS))
    return [cell.text for cell in dash_duo.driver.find_elements(By.CSS_SELECTOR, TIER_CELLS)]


def test_admin_sees_tiers_and_a_row_click_opens_the_explanation(dash_duo, scored: ScoredSchool) -> None:
    _log_in(dash_duo, scored, "admin")
    tiers = _tiers(dash_duo)
    assert len(tiers) == 25 and tiers[0] == "▲ High"  # highest risk first, the shape and the word
    dash_duo.wait_for_contains_text(f"#{ids.RISK_STATUS}", "of 200 students", timeout=20)
    assert "not a verdict" in dash_duo.find_element(".risk-caption").text
    dash_duo.driver.find_elements(By.CSS_SELECTOR, TIER_CELLS)[2].click()
    WebDriverWait(dash_duo.driver, 15).until(lambda d: "/students/" in d.current_url)
    dash_duo.wait_for_contains_text(f"#{ids.STUDENT_REASONS}", "class median", timeout=30)
    reasons = dash_duo.find_element(f"#{ids.STUDENT_REASONS}").text
    assert "raises risk" in reasons or "lowers risk" in reasons
    assert dash_duo.wait_for_element(f"#{ids.STUDENT_EXPLANATION_GRAPH} .main-svg", timeout=20)
    assert dash_duo.wait_for_element(f"#{ids.STUDENT_HISTORY_GRAPH} .main-svg", timeout=20)
    assert "High" in dash_duo.find_element(f"#{ids.STUDENT_RISK}").text


def test_the_tier_filter_narrows_the_list(dash_duo, scored: ScoredSchool) -> None:
    _log_in(dash_duo, scored, "admin")
    _tiers(dash_duo)
    dash_duo.driver.find_element(By.XPATH, f"//*[@id='{ids.RISK_TIER}']//label[contains(., 'Low')]").click()
    WebDriverWait(dash_duo.driver, 20).until(lambda d: set(_tiers(dash_duo)) == {"● Low"})


def test_teacher_sees_only_their_class_and_not_another_students_profile(dash_duo, scored: ScoredSchool) -> None:
    _log_in(dash_duo, scored, "teacher")
    _tiers(dash_duo)
    classes = {c.text for c in dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.RISK_TABLE} td[data-dash-column=class]")}
    assert classes == {scored.teacher_class}
    dash_duo.driver.get(f"{_base(dash_duo)}/students/{scored.outsider}")
    dash_duo.wait_for_contains_text(f"#{ids.STUDENT_BODY}", "No such student in your classes.", timeout=20)
    dash_duo.driver.get(f"{_base(dash_duo)}/students/not-a-number")
    dash_duo.wait_for_contains_text(f"#{ids.STUDENT_BODY}", "is not a student id", timeout=20)


def test_tablet_layout_has_no_horizontal_scroll(dash_duo, scored: ScoredSchool) -> None:
    _log_in(dash_duo, scored, "admin", size=TABLET)
    _tiers(dash_duo)
    overflow = dash_duo.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the at-risk page is {overflow}px wider than a tablet"


def test_profile_shows_the_risk_history_and_the_interval_in_words(dash_duo, scored: ScoredSchool, database: Database,
                                                                   settings: Settings) -> None:
    with database.begin() as s:
        as_of = s.execute(text("SELECT max(as_of) FROM predictions")).scalar_one()
    score_all(database, settings, as_of - dt.timedelta(days=35))  # a second, earlier-dated run: two points
    score_all(database, settings)
    _log_in(dash_duo, scored, "admin")
    _tiers(dash_duo)
    page = dash_duo.find_element(f"#{ids.RISK_PAGE}").text
    assert "100.0 %" not in page and "0.0 %" not in page and "likely" in page
    dash_duo.driver.find_elements(By.CSS_SELECTOR, TIER_CELLS)[0].click()
    WebDriverWait(dash_duo.driver, 15).until(lambda d: "/students/" in d.current_url)
    assert dash_duo.wait_for_element(f"#{ids.STUDENT_RISK_HISTORY_GRAPH} .main-svg", timeout=30)
    history = dash_duo.find_element(f"#{ids.STUDENT_RISK_HISTORY}").text
    assert re.search(r"First flagged High on \d{1,2} [A-Z][a-z]{2} \d{4}\.", history), history
    risk = dash_duo.find_element(f"#{ids.STUDENT_RISK}").text
    assert re.search(r"(\d{1,2} %|over 99 %), likely (\d{1,2}-\d{1,2} %|over \d{1,2} %)", risk), risk
    assert "100.0 %" not in risk
    points = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.STUDENT_RISK_HISTORY_GRAPH} .scatterlayer .point")
    assert len(points) >= 2
