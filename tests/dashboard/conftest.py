"""Dashboard fixtures: the app from ``create_app``, users per role, clients logged in through /login.

Shared by every dashboard test (auth, security, pages). Each client gets its own fake address, so
the per-address login throttle of one test never blocks another; tests that fail logins on purpose
or deactivate someone use their own accounts (``webtools.make_user``), never the shared ones.
Helpers (``login``, ``dash_post``, ``callback_bodies``...) live in ``webtools.py`` beside this file:
``from webtools import dash_post`` works in any test here; ``dash_post`` is also a fixture.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from core.settings import Settings
from dashboard.app import DASH_KEY, create_app
from db.database import Database

sys.path.insert(0, str(Path(__file__).parent))
from webtools import (  # noqa: E402
    ROLE_EMAILS,
    DatabaseProxy,
    TestUser,
    ensure_classes,
    login,
    make_client,
    make_user,
    post_dash,
    school_of,
)


@pytest.fixture(scope="session")
def test_settings(settings: Settings) -> Settings:
    """Settings of the web tests (the test database, a test secret, plain-HTTP cookies)."""
    # a rate limit no test reaches by accident (test_api_v1 checks the limit with an app of its own)
    return settings.with_(secure_cookies=False, demo_mode=False, api_rate_limit="100000/minute")


@pytest.fixture(scope="session")
def app(test_settings: Settings, database: Database) -> Flask:
    """The Flask server from ``create_app(test_settings)`` on the migrated test database."""
    server = create_app(test_settings)
    server.config["TESTING"] = False  # errors go through the real handlers, as in production
    return server


@pytest.fixture(scope="session")
def dash_app(app: Flask) -> Any:
    """The Dash app mounted on ``app`` (its callback map, layout, registry)."""
    return app.extensions[DASH_KEY]


@pytest.fixture()
def users(database: Database) -> dict[str, TestUser]:
    """An admin, a staff member of the first class's school and two teachers with DIFFERENT classes (``teacher``, ``teacher2``)."""
    first, second = ensure_classes(database, 2)
    return {
        "admin": make_user(database, ROLE_EMAILS["admin"], "admin"),
        "staff": make_user(database, ROLE_EMAILS["staff"], "staff", school_ids=[school_of(database, first)]),
        "teacher": make_user(database, ROLE_EMAILS["teacher"], "teacher", [first]),
        "teacher2": make_user(database, ROLE_EMAILS["teacher2"], "teacher", [second]),
    }


@pytest.fixture()
def client_for(app: Flask, users: dict[str, TestUser]) -> Callable[[str], FlaskClient]:
    """``client_for("admin" | "staff" | "teacher" | "teacher2")``: a client logged in through /login."""

    def _client(role: str) -> FlaskClient:
        user = users[role]
        client = make_client(app)
        response = login(client, user.email, user.password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _client


@pytest.fixture()
def admin_client(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    """A client logged in as the admin."""
    return client_for("admin")


@pytest.fixture()
def staff_client(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    """A client logged in as the staff member."""
    return client_for("staff")


@pytest.fixture()
def teacher_client(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    """A client logged in as ``teacher`` (class ``users['teacher'].class_ids``)."""
    return client_for("teacher")


@pytest.fixture()
def anon_client(app: Flask) -> Iterator[FlaskClient]:
    """A client that never logged in."""
    yield make_client(app)


@pytest.fixture()
def dash_post() -> Callable[..., Any]:
    """``dash_post(client, "id.prop" | [...], inputs, state=..., triggered=...)`` -> the response."""
    return post_dash


@pytest.fixture()
def proxied(test_settings: Settings, database: Database) -> Iterator[tuple[Flask, DatabaseProxy]]:
    """An app whose database connection goes through a proxy the test can cut (TCP or the embedded Unix socket)."""
    proxy = DatabaseProxy(make_url(test_settings.database_url)).start()
    app = create_app(test_settings.with_(database_url=proxy.url))
    yield app, proxy
    proxy.close()
    app.extensions["studentperf.db"].engine.dispose()
