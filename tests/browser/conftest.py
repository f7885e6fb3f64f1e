"""Browser tests: dash[testing] in headless Chromium. Skipped with a reason when Chromium or
chromedriver is missing, unless REQUIRE_BROWSER=1 (as in CI), where that is a failure."""

from __future__ import annotations

import os
import shutil

import pytest


def _browser_missing() -> str | None:
    for tool in ("chromedriver", "chromium"):
        if shutil.which(tool) is None and not (tool == "chromium" and shutil.which("google-chrome")):
            return f"{tool} is not installed (Debian: apt-get install chromium chromium-driver)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or fail, with REQUIRE_BROWSER=1) browser tests when no browser is available."""
    missing = _browser_missing()
    if not missing:
        return
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            if os.environ.get("REQUIRE_BROWSER") == "1":
                item.add_marker(pytest.mark.usefixtures("_fail_browser_required"))
            else:
                item.add_marker(pytest.mark.skip(reason=missing))


@pytest.fixture()
def _fail_browser_required() -> None:
    pytest.fail("REQUIRE_BROWSER=1 but the browser is missing")
