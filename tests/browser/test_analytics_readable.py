"""The analytics pages as a principal or a teacher reads them, in headless Chromium at laptop and tablet widths:
reference lines drawn, the teacher's scope named, small groups not compared, the toolbar only on hover."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select

from core.settings import Settings
from dashboard import ids
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from db.models import SchoolClass, StudentSummary
from etl.generate import write_school
from etl.pipeline import ingest_file
from services.effects import sports_effect
from services.scope import Filters
from services.small_groups import comparable
from services.users import add_user, load_viewer
from tests.browser.browsing import PASSWORD, TABLET, base_url, log_in
from tests.conftest import truncate_data

pytestmark = pytest.mark.browser

WIDE = (1440, 900)
WIDTHS = {"1440": WIDE, "768": TABLET}
PAGES = ("/", "/effects/study-hours", "/effects/sports")
WAIT = 60  # seconds: plotly.js is large and a loaded test machine is slow to parse it
SMALL = "?study=6%2B"  # the teacher's class cut to its heavy studiers: groups of a few students


@dataclass(frozen=True)
class District:
    """The app, one login per role, the teacher's class name and its sports groups under SMALL."""

    dash_app: object
    emails: dict[str, str]
    class_name: str
    groups: tuple[int, int]  # participants, non-participants


@pytest.fixture(scope="module")
def district(database: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> District:
    """160 generated students through the real pipeline, an admin and a teacher of the first class."""
    truncate_data(database)
    path = write_school(Path(tmp_path_factory.mktemp("readable")) / "school.csv", 160, seed=11)
    assert ingest_file(database, path, force=True).status == "succeeded"
    tag = uuid.uuid4().hex[:6]
    emails = {role: f"readable-{role}-{tag}@test.school" for role in ("admin", "teacher")}
    with database.begin() as s:
        name = s.execute(
            select(SchoolClass.name).join(StudentSummary, StudentSummary.class_id == SchoolClass.id)
            .group_by(SchoolClass.name, SchoolClass.grade_level).order_by(SchoolClass.grade_level, SchoolClass.name)
            .having(func.count() > 0).limit(1)
        ).scalar_one()
        add_user(s, email=emails["admin"], password=PASSWORD, role="admin")
        teacher = add_user(s, email=emails["teacher"], password=PASSWORD, role="teacher", classes=[name])
    with database.begin() as s:
        viewer = load_viewer(s, teacher.id)
        score = sports_effect(session=s, viewer=viewer, filters=Filters(study_band="6+")).tests["score"]
    server = create_app(settings.with_(secure_cookies=False))
    return District(server.extensions[DASH_KEY], emails, name, (score.n_participants, score.n_none))


def _stroke_widths(dash_duo, graph_id: str) -> list[float]:  # noqa: ANN001
    script = (f"return Array.from(document.querySelectorAll('#{graph_id} .shapelayer path'))"
              ".map(p => parseFloat(getComputedStyle(p).strokeWidth || '0'))")
    WebDriverWait(dash_duo.driver, WAIT).until(lambda d: len(d.execute_script(script)) == 2)
    return dash_duo.driver.execute_script(script)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_pass_mark_and_median_lines_are_drawn(dash_duo, district: District, width: str) -> None:
    log_in(dash_duo, district.dash_app, district.emails["admin"], "/", WIDTHS[width])
    widths = _stroke_widths(dash_duo, ids.OVERVIEW_DISTRIBUTION_GRAPH)
    assert all(w >= 1 for w in widths), widths
    text = dash_duo.find_element(f"#{ids.OVERVIEW_DISTRIBUTION_GRAPH}").text
    assert "pass mark 60" in text and "median" in text


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_teacher_sees_their_scope_named_on_every_page(dash_duo, district: District, width: str) -> None:
    log_in(dash_duo, district.dash_app, district.emails["teacher"], "/", WIDTHS[width])
    for path in PAGES:
        dash_duo.driver.get(f"{base_url(dash_duo)}{path}")
        dash_duo.wait_for_text_to_equal(f"#{ids.FILTER_SCOPE}", f"Your classes: {district.class_name}", timeout=WAIT)
        bar = dash_duo.find_element(f"#{ids.FILTER_BAR}").text
        assert "All schools" not in bar and "All classes" not in bar and "School" not in bar.split("\n")
        assert not dash_duo.driver.find_element(By.ID, ids.FILTER_SCHOOL).is_displayed()


def test_small_groups_are_not_compared(dash_duo, district: District) -> None:
    assert not comparable(*district.groups), district.groups  # the precondition: a group under ten students
    log_in(dash_duo, district.dash_app, district.emails["teacher"], f"/effects/sports{SMALL}", WIDE)
    dash_duo.driver.get(f"{base_url(dash_duo)}/effects/sports{SMALL}")
    dash_duo.wait_for_contains_text(f"#{ids.SPORTS_STATS}", "Too few students to compare", timeout=WAIT)
    headline = dash_duo.find_element(f"#{ids.SPORTS_STATS} .stats-headline").text
    assert "higher" not in headline and "lower" not in headline and "difference" not in headline
    dash_duo.wait_for_contains_text(f"#{ids.SPORTS_SCORE_GRAPH}", "too few", timeout=WAIT)
    dash_duo.driver.get(f"{base_url(dash_duo)}/effects/study-hours{SMALL}")
    dash_duo.wait_for_contains_text(f"#{ids.STUDY_STATS}", "Too few students", timeout=WAIT)
    assert "score a median of" not in dash_duo.find_element(f"#{ids.STUDY_STATS}").text


def test_statistics_are_one_click_away(dash_duo, district: District) -> None:
    log_in(dash_duo, district.dash_app, district.emails["admin"], "/effects/sports", WIDE)
    dash_duo.driver.get(f"{base_url(dash_duo)}/effects/sports")
    dash_duo.wait_for_contains_text(f"#{ids.SPORTS_STATS} .stats-headline", "Students who play sports", timeout=WAIT)
    dash_duo.wait_for_element(f"#{ids.SPORTS_SCORE_GRAPH} .main-svg", timeout=WAIT)  # nothing left loading above it
    summary = dash_duo.find_element(f"#{ids.SPORTS_STATS} .stats-summary")
    stats = dash_duo.find_element(f"#{ids.SPORTS_STATS}")
    assert "Cohen" not in stats.text and "F =" not in stats.text  # the table waits behind the summary
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    WebDriverWait(dash_duo.driver, WAIT).until(lambda d: summary.is_displayed() and summary.is_enabled())
    summary.click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "F =" in stats.text and "Cohen's d" in stats.text)


def test_the_toolbar_shows_on_hover_with_two_tools(dash_duo, district: District) -> None:
    log_in(dash_duo, district.dash_app, district.emails["admin"], "/", WIDE)
    graph = dash_duo.wait_for_element(f"#{ids.OVERVIEW_DISTRIBUTION_GRAPH} .main-svg", timeout=WAIT)
    buttons = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.OVERVIEW_DISTRIBUTION_GRAPH} .modebar-btn")
    assert sorted(b.get_attribute("data-title") for b in buttons) == ["Download plot as a PNG", "Reset axes"]
    opacity = f"return getComputedStyle(document.querySelector('#{ids.OVERVIEW_DISTRIBUTION_GRAPH} .modebar-container')).opacity"
    ActionChains(dash_duo.driver).move_to_element(dash_duo.find_element(".page-title")).perform()
    WebDriverWait(dash_duo.driver, 5).until(lambda d: d.execute_script(opacity) == "0")
    ActionChains(dash_duo.driver).move_to_element(graph).perform()
    WebDriverWait(dash_duo.driver, 5).until(lambda d: d.execute_script(opacity) == "1")
