"""/admin/uploads in headless Chromium: a file with bad rows loads as a background job with progress, its report and
rejected rows download, and what was scored after the load; the UCI file's columns are mapped with the scale warnings
shown, the mapping saved, then loaded; a file over the limit is refused in the browser with the sentence naming it, and
a callback request the server refuses as too large shows that sentence too."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.common.exceptions import ElementClickInterceptedException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from core.settings import Settings
from dashboard import ids
from dashboard.app import DASH_KEY, create_app
from db.database import Database
from services.uploads import TRANSFORMS
from services.users import add_user
from tests.browser.browsing import PASSWORD, log_in
from tests.browser.test_csp_browser import _csp_violations
from tests.conftest import SHARED_DATA, truncate_data

pytestmark = pytest.mark.browser

UCI = SHARED_DATA / "uci-student-performance" / "student-mat.csv"
HEADER = "student_id,student_name,date,study_hours,attendance_rate,final_score\n"


TOO_LARGE = "The upload is larger than the 1 MB allowed: split it into smaller files or load it with `studentperf ingest`."


@dataclass(frozen=True)
class AdminSite:
    dash_app: object
    email: str
    folder: Path


def _site(database: Database, settings: Settings, tmp_path: Path) -> Iterator[AdminSite]:
    truncate_data(database, ("column_mappings",))
    email = f"uploads-admin-{uuid.uuid4().hex[:6]}@test.school"
    with database.begin() as s:
        add_user(s, email=email, password=PASSWORD, role="admin")
    server = create_app(settings.with_(secure_cookies=False, home=tmp_path / "home"))
    yield AdminSite(server.extensions[DASH_KEY], email, tmp_path)
    truncate_data(database, ("column_mappings",))


@pytest.fixture()
def site(database: Database, settings: Settings, tmp_path: Path) -> Iterator[AdminSite]:
    """An empty school, an admin, and the app with its own home (uploads and the job cache in a temporary folder)."""
    yield from _site(database, settings, tmp_path)


@pytest.fixture()
def small_site(database: Database, settings: Settings, tmp_path: Path) -> Iterator[AdminSite]:
    """The same with uploads of at most 1 MB."""
    yield from _site(database, settings.with_(upload_max_mb=1), tmp_path)


def _click(dash_duo, component_id: str) -> None:  # noqa: ANN001
    """Click a button (scrolled into view first; a long page puts it below the fold)."""
    element = dash_duo.find_element(f"#{component_id}")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def _choose(dash_duo, component_id: str, label: str) -> None:  # noqa: ANN001
    """Pick ``label`` in a dropdown (scrolled into view first)."""
    def opened(_: object) -> bool:
        element = dash_duo.find_element(f"#{component_id}")
        dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
        except ElementClickInterceptedException:  # the page was still moving (a preview being drawn)
            return False
        return True

    def menus() -> list:
        return dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options")

    def picked(_: object) -> bool:
        return label in dash_duo.find_element(f"#{component_id}").text

    for _attempt in range(3):
        WebDriverWait(dash_duo.driver, 10).until(lambda _: not menus())  # the last dropdown's menu has closed
        WebDriverWait(dash_duo.driver, 15, poll_frequency=0.5).until(opened)
        WebDriverWait(dash_duo.driver, 10).until(lambda _: menus() and label in menus()[0].text)
        [option] = [o for o in menus()[0].find_elements(By.CSS_SELECTOR, ".dash-dropdown-option") if o.text == label]
        dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", option)
        try:
            WebDriverWait(dash_duo.driver, 5).until(picked)
            break
        except TimeoutException:
            ActionChains(dash_duo.driver).send_keys(Keys.ESCAPE).perform()
    assert picked(None), f"could not choose {label!r} in {component_id}"
    if menus():
        ActionChains(dash_duo.driver).send_keys(Keys.ESCAPE).perform()


def _upload(dash_duo, path: Path) -> None:  # noqa: ANN001
    dash_duo.wait_for_element(f"#{ids.ADMIN_UPLOAD} input[type=file]", timeout=30).send_keys(str(path))
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_UPLOAD_MESSAGE}", "Received", timeout=30)


def _load_and_wait(dash_duo) -> str:  # noqa: ANN001
    _click(dash_duo, ids.ADMIN_LOAD)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_PROGRESS_TEXT}", "Done", timeout=120)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_REPORT}", "The upload took", timeout=60)
    return dash_duo.find_element(f"#{ids.ADMIN_REPORT}").text


def test_admin_uploads_a_file_with_bad_rows_sees_progress_and_report_and_downloads_the_rejects(
        dash_duo, site: AdminSite, database: Database) -> None:  # noqa: ANN001
    rows = [f"S{i},Pupil {i},2025-09-01,{4 + i % 3},0.9,{55 + i}" for i in range(12)]
    rows += ["B1,Bad one,2025-09-01,3,lots,abc", "B2,Bad two,2025-09-01,x,0.9,70"]
    upload = site.folder / "week-36.csv"
    upload.write_text(HEADER + "\n".join(rows) + "\n")
    log_in(dash_duo, site.dash_app, site.email, "/admin/uploads")
    _upload(dash_duo, upload)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_PREVIEW}", "week-36.csv", timeout=30)

    report = _load_and_wait(dash_duo)
    assert "week-36.csv: succeeded" in report and "14 rows read, 12 loaded" in report and "2 rejected" in report
    scored = dash_duo.find_element(f"#{ids.ADMIN_SCORED}").text  # the same post-load scoring as the CLI and the API
    assert scored.startswith(("Scored ", "Not scored: there is no active model yet")), scored
    bar = dash_duo.find_element(f"#{ids.ADMIN_PROGRESS} .progress-bar")
    assert bar.get_attribute("aria-valuenow") == "100"
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_HISTORY}", "week-36.csv", timeout=30)
    assert site.email in dash_duo.find_element(f"#{ids.ADMIN_HISTORY}").text
    with database.begin() as s:
        assert s.execute(text("SELECT count(*) FROM students")).scalar() == 12

    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_REJECTS_RUN}", "2 rejected", timeout=30)
    _click(dash_duo, ids.ADMIN_REJECTS_BUTTON)
    folder = Path(dash_duo.download_path)
    WebDriverWait(dash_duo.driver, 30).until(lambda _: list(folder.glob("rejected-rows-run-*.csv")))
    [saved] = list(folder.glob("rejected-rows-run-*.csv"))
    got = list(csv.DictReader(saved.open()))
    assert [r["student_id"] for r in got] == ["B1", "B2"]
    assert "attendance_rate" in got[0]["reasons"] and "final_score" in got[0]["reasons"]
    assert "study_hours" in got[1]["reasons"]
    assert _csp_violations(dash_duo.driver) == []  # the background job's polling runs under the same CSP


def test_admin_maps_the_uci_columns_with_the_scale_warnings_saves_the_mapping_and_loads(
        dash_duo, site: AdminSite, database: Database) -> None:  # noqa: ANN001
    log_in(dash_duo, site.dash_app, site.email, "/admin/uploads")
    _upload(dash_duo, UCI)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_PREVIEW}", "Columns found", timeout=30)
    preview = dash_duo.find_element(f"#{ids.ADMIN_PREVIEW}").text
    assert "G3" in preview and "absences" in preview and "uci-student-performance" in preview

    for target, source in (("study_hours", "studytime"), ("attendance_rate", "absences"), ("final_score", "G3")):
        _choose(dash_duo, f"{ids.ADMIN_MAP_SOURCE}{target}", source)
    _click(dash_duo, ids.ADMIN_MAP_PREVIEW)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_PREVIEW}", "looks like a score out of 20", timeout=30)
    assert "counts absences" in dash_duo.find_element(f"#{ids.ADMIN_PREVIEW}").text
    with database.begin() as s:
        assert s.execute(text("SELECT count(*) FROM ingestion_runs")).scalar() == 0  # warned before anything is written

    _choose(dash_duo, f"{ids.ADMIN_MAP_TRANSFORM}final_score", TRANSFORMS["rescale20"][0])
    _choose(dash_duo, f"{ids.ADMIN_MAP_TRANSFORM}attendance_rate", TRANSFORMS["absences180"][0])
    _click(dash_duo, ids.ADMIN_MAP_PREVIEW)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_PREVIEW}", "rescaled to 0-100", timeout=30)
    assert "out of 20 (highest" not in dash_duo.find_element(f"#{ids.ADMIN_PREVIEW}").text

    dash_duo.find_element(f"#{ids.ADMIN_MAP_NAME}").send_keys("uci-maths")
    _click(dash_duo, ids.ADMIN_MAP_SAVE)
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_MAP_SAVED}", "Saved the mapping uci-maths", timeout=30)

    report = _load_and_wait(dash_duo)
    assert "student-mat.csv: succeeded" in report and "395 rows read, 395 loaded" in report
    with database.begin() as s:
        failing = s.execute(text("SELECT avg((score < 60)::int) FROM scores")).scalar()
        saved = s.execute(text("SELECT count(*) FROM column_mappings WHERE name = 'uci-maths'")).scalar()
    assert 0.2 < failing < 0.5 and saved == 1  # the file's own share below the pass mark, not everyone


def test_a_file_over_the_limit_is_refused_in_the_browser_with_the_sentence(
        dash_duo, small_site: AdminSite) -> None:  # noqa: ANN001
    big = small_site.folder / "big.csv"
    big.write_text(HEADER + "S1,Pupil,2025-09-01,5,0.9,70\n" * 60_000)  # about 1.8 MB
    log_in(dash_duo, small_site.dash_app, small_site.email, "/admin/uploads")
    dash_duo.wait_for_element(f"#{ids.ADMIN_UPLOAD} input[type=file]", timeout=30).send_keys(str(big))
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_UPLOAD_MESSAGE}", TOO_LARGE, timeout=30)
    saved = small_site.folder / "home" / "uploads"
    assert not saved.exists() or not any(p.is_file() for p in saved.rglob("*"))  # nothing was sent

    small = small_site.folder / "small.csv"  # the page still works: a file within the limit is received
    small.write_text(HEADER + "S1,Pupil,2025-09-01,5,0.9,70\n")
    dash_duo.find_element(f"#{ids.ADMIN_UPLOAD} input[type=file]").send_keys(str(small))
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_UPLOAD_MESSAGE}", "Received small.csv", timeout=30)


def test_a_callback_the_server_refuses_as_too_large_shows_the_sentence(
        dash_duo, small_site: AdminSite) -> None:  # noqa: ANN001
    log_in(dash_duo, small_site.dash_app, small_site.email, "/admin/uploads")
    dash_duo.wait_for_element(f"#{ids.ADMIN_UPLOAD}", timeout=30)
    status = dash_duo.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const token = document.querySelector('meta[name="csrf-token"]');
        const body = JSON.stringify({output: "x.children", outputs: {id: "x", property: "children"},
                                     inputs: [], changedPropIds: [], padding: "a".repeat(3000000)});
        fetch("/_dash-update-component", {method: "POST", body: body, headers: {
            "Content-Type": "application/json", "X-CSRF-Token": token ? token.content : ""}})
          .then(r => done(r.status), e => done(String(e)));
    """)
    assert status == 413
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_UPLOAD_MESSAGE}", TOO_LARGE, timeout=30)
