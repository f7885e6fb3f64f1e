"""The dashboard as a person uses it, in headless Chromium: log in per role, KPIs, filters in the URL,
shared links, a teacher's scope, logout."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select, text

from core.settings import Settings
from dashboard import ids
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from db.models import SchoolClass, StudentSummary
from etl.generate import write_school
from etl.pipeline import ingest_file
from services.users import add_user
from tests.browser.browsing import LAPTOP, PASSWORD, TABLET, base_url, log_in
from tests.conftest import truncate_data

pytestmark = pytest.mark.browser

STUDENTS_KPI = f"#{ids.KPI_CARD}-students .kpi-value"


@dataclass(frozen=True)
class School:
    """What the browser tests loaded: the app, the logins and the expected counts."""

    dash_app: object
    emails: dict[str, str]
    total: int
    by_grade: dict[int, int]
    teacher_class: tuple[int, str, int]  # id, name, students
    other_class: tuple[int, str, int]


def _counts(database: Database) -> tuple[int, dict[int, int], list[tuple[int, str, int]]]:
    with database.begin() as s:
        total = s.scalar(select(func.count()).select_from(StudentSummary))
        by_grade = dict(s.execute(select(StudentSummary.grade_level, func.count()).group_by(StudentSummary.grade_level)).all())
        classes = s.execute(
            select(SchoolClass.id, SchoolClass.name, func.count(StudentSummary.student_id))
            .join(StudentSummary, StudentSummary.class_id == SchoolClass.id)
            .group_by(SchoolClass.id, SchoolClass.name, SchoolClass.grade_level)
            .order_by(SchoolClass.grade_level, SchoolClass.name)
        ).all()
    return total, by_grade, [tuple(c) for c in classes]


@pytest.fixture(scope="module")
def school(database: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> School:
    """A generated school of 160 students, loaded through the real pipeline, and one login per role."""
    truncate_data(database)
    path = write_school(Path(tmp_path_factory.mktemp("browser")) / "school.csv", 160, seed=11)
    report = ingest_file(database, path, force=True)
    assert report.status == "succeeded", report.message
    total, by_grade, classes = _counts(database)
    mine, other = classes[0], classes[-1]
    tag = uuid.uuid4().hex[:6]
    emails = {role: f"browser-{role}-{tag}@test.school" for role in ("admin", "staff", "teacher")}
    with database.begin() as s:
        add_user(s, email=emails["admin"], password=PASSWORD, role="admin")
        schools = [str(i) for i in s.execute(text("SELECT id FROM schools")).scalars()]  # staff see their school only
        add_user(s, email=emails["staff"], password=PASSWORD, role="staff", schools=schools)
        add_user(s, email=emails["teacher"], password=PASSWORD, role="teacher", classes=[mine[1]])
    server = create_app(settings.with_(secure_cookies=False))
    return School(server.extensions[DASH_KEY], emails, total, by_grade, mine, other)


def _base(dash_duo) -> str:  # noqa: ANN001
    return base_url(dash_duo)


def _log_in(dash_duo, school: School, role: str, next_path: str = "/", size: tuple[int, int] = LAPTOP) -> None:  # noqa: ANN001
    log_in(dash_duo, school.dash_app, school.emails[role], next_path, size)


def _students_shown(dash_duo) -> int:  # noqa: ANN001
    return int(dash_duo.find_element(STUDENTS_KPI).text.replace(",", ""))


def _wait_students(dash_duo, expected: int) -> None:  # noqa: ANN001
    dash_duo.wait_for_text_to_equal(STUDENTS_KPI, f"{expected:,}", timeout=20)


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_school_wide_roles_see_every_student(dash_duo, school: School, role: str) -> None:
    _log_in(dash_duo, school, role)
    _wait_students(dash_duo, school.total)
    for key in ("mean-score", "pass-rate", "attendance", "chronic"):
        assert dash_duo.find_element(f"#{ids.KPI_CARD}-{key} .kpi-value").text not in ("", "–")
    assert dash_duo.find_element(f"#{ids.OVERVIEW_DISTRIBUTION_GRAPH} .main-svg")


def test_teacher_numbers_cover_only_their_class(dash_duo, school: School) -> None:
    _log_in(dash_duo, school, "teacher")
    _wait_students(dash_duo, school.teacher_class[2])
    assert school.teacher_class[2] < school.total
    # A shared link naming another class shows that teacher nothing of it: the class is not among their
    # options, so the filter falls back to their own scope.
    dash_duo.driver.get(f"{_base(dash_duo)}/?class={school.other_class[0]}")
    _wait_students(dash_duo, school.teacher_class[2])
    assert school.other_class[1] not in dash_duo.find_element(f"#{ids.FILTER_BAR}").text


def test_changing_a_filter_updates_the_charts_and_the_url(dash_duo, school: School) -> None:
    _log_in(dash_duo, school, "admin")
    _wait_students(dash_duo, school.total)
    grade = min(school.by_grade)
    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_GRADE}", value=f"Grade {grade}")
    _wait_students(dash_duo, school.by_grade[grade])
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "grade=" in d.current_url)
    assert parse_qs(urlparse(dash_duo.driver.current_url).query)["grade"] == [str(grade)]


def test_a_shared_link_restores_the_filters(dash_duo, school: School) -> None:
    grade = max(school.by_grade)
    _log_in(dash_duo, school, "staff", next_path=f"/effects/study-hours?grade={grade}")
    dash_duo.driver.get(f"{_base(dash_duo)}/?grade={grade}")
    _wait_students(dash_duo, school.by_grade[grade])
    assert str(grade) in dash_duo.find_element(f"#{ids.FILTER_GRADE}").text


def test_effects_pages_render_their_statistics(dash_duo, school: School) -> None:
    _log_in(dash_duo, school, "admin")
    dash_duo.driver.get(f"{_base(dash_duo)}/effects/study-hours")
    dash_duo.wait_for_contains_text(f"#{ids.STUDY_STATS}", "Spearman", timeout=20)
    assert "association" in dash_duo.find_element(f"#{ids.STUDY_STATS}").text.lower() or "not cause" in dash_duo.driver.page_source
    dash_duo.driver.get(f"{_base(dash_duo)}/effects/sports")
    dash_duo.wait_for_contains_text(f"#{ids.SPORTS_STATS}", "Welch", timeout=20)


def test_logout_ends_the_session(dash_duo, school: School) -> None:
    _log_in(dash_duo, school, "admin")
    _wait_students(dash_duo, school.total)
    dash_duo.find_element(".shell-logout button").click()
    WebDriverWait(dash_duo.driver, 10).until(ec.url_contains("/login"))
    dash_duo.driver.get(f"{_base(dash_duo)}/effects/sports")
    WebDriverWait(dash_duo.driver, 10).until(ec.url_contains("/login"))
    assert dash_duo.driver.find_element(By.NAME, "password")


def test_tablet_layout_has_no_horizontal_scroll_and_a_menu(dash_duo, school: School) -> None:
    _log_in(dash_duo, school, "staff", size=TABLET)
    _wait_students(dash_duo, school.total)
    overflow = dash_duo.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a tablet"
    dash_duo.find_element("#shell-navbar-toggler").click()
    dash_duo.wait_for_element(".shell-logout button", timeout=10).click()
    WebDriverWait(dash_duo.driver, 10).until(ec.url_contains("/login"))


CONSOLE_HOOK = """
window.__consoleErrors = [];
const original = console.error;
console.error = function (...args) {
  window.__consoleErrors.push(args.map(a => (a && a.message) ? a.message + ' ' + (a.html || '') : String(a)).join(' '));
  original.apply(console, args);
};
"""
PAGES_BY_ROLE = {
    "teacher": ("/", "/effects/study-hours", "/effects/sports", "/at-risk", "/caseload", "/alerts"),
    "admin": ("/", "/at-risk", "/admin/uploads", "/admin/model", "/admin/users", "/admin/audit"),
}


@pytest.mark.parametrize("role", sorted(PAGES_BY_ROLE))
def test_pages_log_no_errors_in_the_browser_console(dash_duo, school: School, role: str) -> None:
    """Every page, as each role, leaves the console clean: no 'ID not found in layout' from callbacks of pages the
    viewer may not open (the admin pages), no failed callback."""
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CONSOLE_HOOK})
    _log_in(dash_duo, school, role)
    errors: list[str] = []
    for path in PAGES_BY_ROLE[role]:
        dash_duo.driver.get(f"{_base(dash_duo)}{path}")
        dash_duo.wait_for_element("#_pages_content", timeout=20)
        WebDriverWait(dash_duo.driver, 20).until(lambda d: d.execute_script(
            "return !document.querySelector('._dash-loading') && document.readyState === 'complete'"))
        time.sleep(1.5)  # callbacks after the first render
        errors += [f"{path}: {e[:300]}" for e in dash_duo.driver.execute_script("return window.__consoleErrors || []")]
    assert errors == []
