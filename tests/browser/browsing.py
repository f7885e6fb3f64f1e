"""Shared steps of the browser tests: serve an app, log in through the real form, window sizes."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "browser-test-password-1"
LAPTOP = (1366, 900)
TABLET = (768, 1024)


def base_url(dash_duo) -> str:  # noqa: ANN001
    """The served app's address, without a trailing slash (``server_url`` is unset with navigate=False)."""
    return dash_duo.server.url.rstrip("/")


def log_in(dash_duo, dash_app, email: str, next_path: str = "/", size: tuple[int, int] = LAPTOP) -> None:  # noqa: ANN001
    """Serve ``dash_app``, then log in as ``email`` through /login and wait to leave the login page."""
    dash_duo.start_server(dash_app, navigate=False)
    driver = dash_duo.driver
    driver.set_window_size(*size)
    driver.get(f"{base_url(dash_duo)}/login?next={next_path}")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: "/login" not in d.current_url)
