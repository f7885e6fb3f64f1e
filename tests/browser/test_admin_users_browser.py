"""The users page in headless Chromium: an admin adds a teacher with one class, the teacher sets a password through
the one-time link, logs in and sees only that class in the at-risk list."""

from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from dashboard import ids
from tests.browser import test_risk_browser as risk
from tests.browser.browsing import LAPTOP, base_url, log_in
from tests.browser.test_risk_browser import ScoredSchool

pytestmark = pytest.mark.browser

scored = risk.scored  # 200 scored students, an admin and a teacher of one class
NEW_PASSWORD = "teacher-made-password-7"
CLASS_CELLS = f"#{ids.RISK_TABLE} td[data-dash-column=class]"


def _class_label(database, name: str) -> str:  # noqa: ANN001
    with database.begin() as s:
        row = s.execute(text("SELECT c.name, s.name, c.school_year FROM classes c JOIN schools s ON s.id = c.school_id "
                             "WHERE c.name = :n ORDER BY c.school_year DESC LIMIT 1"), {"n": name}).one()
    return f"{row[0]} ({row[1]}, {row[2]})"


def test_admin_creates_a_teacher_who_then_sees_only_that_class(dash_duo, scored: ScoredSchool, database) -> None:
    log_in(dash_duo, scored.dash_app, scored.emails["admin"], "/admin/users", LAPTOP)
    driver = dash_duo.driver
    dash_duo.wait_for_element(f"#{ids.ADMIN_USERS_TABLE}", timeout=20)
    email = f"new-teacher-{uuid.uuid4().hex[:6]}@test.school"
    driver.find_element(By.ID, ids.ADMIN_NEW_EMAIL).send_keys(email)
    driver.find_element(By.ID, ids.ADMIN_NEW_NAME).send_keys("New Teacher")
    dash_duo.select_dcc_dropdown(f"#{ids.ADMIN_NEW_CLASSES}", value=_class_label(database, scored.teacher_class))
    driver.find_element(By.ID, ids.ADMIN_NEW_SUBMIT).click()
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_NEW_RESULT}", "/reset/", timeout=20)
    link = driver.find_element(By.CSS_SELECTOR, f"#{ids.ADMIN_NEW_RESULT} code").text
    assert link.startswith(base_url(dash_duo)) and "Give " + email in driver.find_element(By.ID, ids.ADMIN_NEW_RESULT).text
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_USERS_TABLE}", email, timeout=20)

    driver.delete_all_cookies()  # the admin leaves; the new teacher opens the link
    driver.get(link)
    driver.find_element(By.NAME, "password").send_keys(NEW_PASSWORD)
    driver.find_element(By.NAME, "confirm").send_keys(NEW_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: "Your password is set" in d.page_source)

    driver.get(f"{base_url(dash_duo)}/login?next=/at-risk")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(NEW_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: "/at-risk" in d.current_url)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, CLASS_CELLS))
    classes = {cell.text for cell in driver.find_elements(By.CSS_SELECTOR, CLASS_CELLS)}
    assert classes == {scored.teacher_class}
    dash_duo.wait_for_contains_text(f"#{ids.FILTER_SCOPE}", f"Your classes: {scored.teacher_class}", timeout=20)
    assert not driver.find_elements(By.CSS_SELECTOR, "a[href='/admin/users']")  # no admin links for a teacher
    driver.get(f"{base_url(dash_duo)}/admin/users")
    dash_duo.wait_for_contains_text("#_pages_content", "Page not found", timeout=20)
