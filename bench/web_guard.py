"""Cost of the request guard: a logged-in request (user rebuilt from the database each time) vs /healthz.

Run: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/web_guard.py [--requests 500]
Creates a throwaway database, one admin, logs in through the real form, then times in the same run:
  baseline  GET /healthz            (no guard work, one SELECT 1)
  guarded   GET /api/v1/me          (guard: session -> user, role, classes from the database)
  callback  POST /_dash-update-component (guard + Dash dispatch of the navbar toggle)
and one login (argon2 verify + throttle queries), which is deliberately slow.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.settings import Settings
from dashboard.app import create_app
from db.database import connect
from db.engine import normalise_url
from services.users import add_user


def _timed(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main() -> None:
    """Print per-request milliseconds of each path and the ratio to the baseline."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    n = parser.parse_args().requests
    base = os.environ["DATABASE_URL"]
    name = f"studentperf_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    try:
        settings = Settings(database_url=url, secret_key="bench-secret-key-not-for-production-use")
        with connect(url, settings.home).begin() as s:
            add_user(s, email="bench@bench.example", password="bench-password-123", role="admin", actor="bench")
        app = create_app(settings)
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        t0 = time.perf_counter()
        assert client.post("/login", data={"email": "bench@bench.example", "password": "bench-password-123", "csrf_token": token}).status_code == 302
        login_ms = (time.perf_counter() - t0) * 1000
        body = {
            "output": "shell-navbar-collapse.is_open",
            "outputs": {"id": "shell-navbar-collapse", "property": "is_open"},
            "inputs": [{"id": "shell-navbar-toggler", "property": "n_clicks", "value": 1}],
            "state": [{"id": "shell-navbar-collapse", "property": "is_open", "value": False}],
            "changedPropIds": ["shell-navbar-toggler.n_clicks"],
        }
        for _ in range(20):  # warm up pools and caches
            client.get("/healthz"), client.get("/api/v1/me"), client.post("/_dash-update-component", json=body)
        baseline = _timed(lambda: client.get("/healthz"), n)
        guarded = _timed(lambda: client.get("/api/v1/me"), n)
        callback = _timed(lambda: client.post("/_dash-update-component", json=body), n)
        print(f"requests per path: {n}")
        print(f"baseline  GET /healthz                 {baseline:7.2f} ms/request")
        print(f"guarded   GET /api/v1/me               {guarded:7.2f} ms/request  ({guarded / baseline:.2f}x baseline)")
        print(f"callback  POST /_dash-update-component {callback:7.2f} ms/request  ({callback / baseline:.2f}x baseline)")
        print(f"login     POST /login (argon2)         {login_ms:7.2f} ms (once)")
        app.extensions["studentperf.db"].engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
