"""The workflow as a teacher uses it, in headless Chromium: open a High student from a filtered at-risk list, add an
intervention and a note, see them on the timeline, mark the flag "already supported", find the student through
the navigation's search box, then see the alert for the student who turned High and open it."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from core.settings import Settings
from dashboard import ids
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from services.users import add_user
from tests.browser.browsing import LAPTOP, PASSWORD, log_in
from tests.conftest import truncate_data

sys.path.insert(0, str(Path(__file__).parents[1] / "services"))
from workflow_seed import WORKFLOW_TABLES, WorkflowWorld, seed_workflow  # noqa: E402

pytestmark = pytest.mark.browser
TIER_CELLS = f"#{ids.RISK_TABLE} td[data-dash-column=tier]"


@dataclass(frozen=True)
class Workflow:
    """The app, the teacher's login and the seeded school."""

    dash_app: object
    teacher: str
    world: WorkflowWorld


def _wipe(database: Database) -> None:
    truncate_data(database, extra=("model_versions", *WORKFLOW_TABLES))


@pytest.fixture(scope="module")
def workflow(database: Database, settings: Settings) -> Iterator[Workflow]:
    """The two-run school (Ada turned High, Ben rose 25 points) and a teacher of its class 9A."""
    _wipe(database)
    teacher = f"wf-{uuid.uuid4().hex[:6]}@test.example"
    with database.begin() as s:
        world = seed_workflow(s)
    with database.begin() as s:
        add_user(s, email=teacher, password=PASSWORD, role="teacher", classes=["9A"])
    server = create_app(settings.with_(secure_cookies=False))
    yield Workflow(server.extensions[DASH_KEY], teacher, world)
    _wipe(database)


def _wait(driver, condition, timeout: int = 20):  # noqa: ANN001, ANN202
    return WebDriverWait(driver, timeout).until(condition)


def _text_of(driver, css: str) -> str:  # noqa: ANN001
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, css))


def _press(driver, element) -> None:  # noqa: ANN001
    """Scroll an element into view and click it as a tap would (a script click: nothing floats over it)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def _type(driver, element_id: str, words: str) -> None:  # noqa: ANN001
    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(words)


def test_teacher_acts_on_a_flag_from_list_to_alert(dash_duo, workflow: Workflow) -> None:
    ada = workflow.world.students["ada"]
    log_in(dash_duo, workflow.dash_app, workflow.teacher, quote("/at-risk?tier=High&support=unsupported", safe="/"),
           LAPTOP)
    driver = dash_duo.driver
    _wait(driver, lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, TIER_CELLS)] == ["▲ High"])
    assert parse_qs(urlsplit(driver.current_url).query) == {"tier": ["High"], "support": ["unsupported"]}

    driver.find_elements(By.CSS_SELECTOR, TIER_CELLS)[0].click()  # the first click opens the profile
    _wait(driver, lambda d: urlsplit(d.current_url).path == f"/students/{ada}")
    _wait(driver, lambda d: d.find_element(By.ID, ids.WF_AREA).is_displayed())
    _wait(driver, lambda d: len(Select(d.find_element(By.ID, ids.WF_INT_TYPE)).options) >= 6)

    review = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    Select(driver.find_element(By.ID, ids.WF_INT_TYPE)).select_by_value("tutoring")
    Select(driver.find_element(By.ID, ids.WF_INT_STATUS)).select_by_value("active")
    _type(driver, ids.WF_INT_REVIEW, review)
    _press(driver, driver.find_element(By.ID, ids.WF_INT_ADD))
    dash_duo.wait_for_contains_text(f"#{ids.WF_INT_MESSAGE}", "Added: tutoring", timeout=20)

    _type(driver, ids.WF_NOTE_BODY, "Talked with Ada about a study plan.")
    _press(driver, driver.find_element(By.ID, ids.WF_NOTE_ADD))
    dash_duo.wait_for_contains_text(f"#{ids.WF_NOTE_MESSAGE}", "Added the note.", timeout=20)

    _wait(driver, lambda d: "Tutoring started (active)" in _text_of(d, f"#{ids.WF_TIMELINE}")
          and "Talked with Ada about a study plan." in _text_of(d, f"#{ids.WF_TIMELINE}"))
    assert "Scored" in _text_of(driver, f"#{ids.WF_TIMELINE}")  # beside the risk history
    assert driver.find_elements(By.CSS_SELECTOR, f"#{ids.WF_TIMELINE_GRAPH} .main-svg")

    _press(driver, driver.find_element(By.XPATH, f"//*[@id='{ids.WF_FB_VERDICT}']//label[contains(., 'Already supported')]"))
    _type(driver, ids.WF_FB_COMMENT, "She has a tutor now.")
    _press(driver, driver.find_element(By.ID, ids.WF_FB_SEND))
    dash_duo.wait_for_contains_text(f"#{ids.WF_FB_MESSAGE}", "already supported", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.WF_FEEDBACK}", "Already supported", timeout=20)

    _press(driver, driver.find_element(By.LINK_TEXT, "Overview"))
    _wait(driver, lambda d: urlsplit(d.current_url).path == "/")
    _type(driver, ids.SEARCH_INPUT, "lovel")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{ids.SEARCH_RESULTS} a"))
    _press(driver, driver.find_element(By.CSS_SELECTOR, f"#{ids.SEARCH_RESULTS} a"))
    _wait(driver, lambda d: urlsplit(d.current_url).path == f"/students/{ada}")
    dash_duo.wait_for_contains_text(f"#{ids.WF_INTERVENTIONS}", "Tutoring", timeout=20)

    dash_duo.wait_for_text_to_equal(f"#{ids.BELL_COUNT}", "2", timeout=20)
    _press(driver, driver.find_element(By.ID, ids.BELL))
    _wait(driver, lambda d: urlsplit(d.current_url).path == "/alerts")
    dash_duo.wait_for_contains_text(f"#{ids.ALERTS_LIST}", "Ada Lovelace is now High risk", timeout=20)
    _press(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "Ada Lovelace is now High risk"))
    _wait(driver, lambda d: urlsplit(d.current_url).path == f"/students/{ada}")
    dash_duo.wait_for_contains_text(f"#{ids.WF_NOTES}", "Talked with Ada", timeout=20)
