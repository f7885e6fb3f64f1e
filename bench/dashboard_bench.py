"""Dashboard bench: each analytics callback through HTTP against the same service called directly.

Loads a generated school (default 100,000 students, about 4M weekly rows) into a throwaway
database once (``--reuse`` keeps it between runs), serves ``create_app`` with werkzeug in a thread,
logs in as an admin through the real login form, then for each filter scenario and each data
callback times ``POST /_dash-update-component`` and the service it wraps, side by side.

Targets: callback p95 < 300 ms; callback p95 <= 1.5 x service p95 + 50 ms; response < 1 MB. The callbacks answer
from the cache of shared answers (``dashboard.cache``) once a scope asked the same question since the last load:
the targets are checked on cold callbacks (the cache emptied before each request), and the column "cached p95"
shows a repeated question's time.

    .venv/bin/python bench/dashboard_bench.py --students 100000 --reuse
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from core.settings import Settings
from dashboard.app import create_app
from db.database import Database, connect
from db.engine import normalise_url
from services import effects, overview
from services.filters import parse_search
from services.scope import Viewer

ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.org", "bench-password-long-enough-1"
TARGET_P95_MS, RATIO, SLACK_MS, MAX_BYTES = 300.0, 1.5, 50.0, 1_000_000


@dataclass(frozen=True)
class Case:
    """One data callback: its Dash output key and the service call it wraps."""

    name: str
    outputs: list[str]
    service: Callable[..., object]


CASES = (
    Case("overview.kpis", ["overview-kpis.children"], lambda **kw: overview.kpi_summary(**kw, pass_threshold=60.0)),
    Case("overview.distribution", ["overview-distribution.children"], overview.score_distribution),
    Case("overview.trends", ["overview-trends.children"], overview.weekly_trends),
    Case("study.heatmap", ["study-scatter.children"], effects.study_hours_grid),
    Case("study.effect", ["study-bands.children", "study-stats.children"], effects.study_hours_effect),
    Case("sports.effect", ["sports-boxes.children", "sports-stats.children"], effects.sports_effect),
)


def bench_database(base_url: str, name: str, reuse: bool) -> str:
    """The URL of database ``name`` on ``base_url``'s server, made afresh (dropped first) unless ``reuse``."""
    admin = create_engine(normalise_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if exists and not reuse:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or not reuse:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(base_url)).set(database=name).render_as_string(hide_password=False)


def prepare(base_url: str, name: str, n_students: int, reuse: bool) -> Database:
    """Create (or reuse) the bench database with ``n_students`` generated and ingested."""
    url = bench_database(base_url, name, reuse)
    db = connect(url, tempfile.gettempdir())
    with db.begin() as s:
        have = s.execute(text("SELECT count(*) FROM student_summary")).scalar()
    if have == n_students:
        print(f"reusing {name}: {have:,} students")
        _ensure_running_sums(db)
    else:
        _load(db, n_students)
    _ensure_admin(db)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return db


def _load(db: Database, n_students: int) -> None:
    from etl.generate import write_school
    from etl.pipeline import ingest_file

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = write_school(Path(tmp) / "school.csv", n_students, seed=0)
        t1 = time.perf_counter()
        print(f"generated {n_students:,} students in {t1 - t0:.0f} s ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
        report = ingest_file(db, path, truncate=True, force=True)
        print(f"ingested in {time.perf_counter() - t1:.0f} s: {report.message}", flush=True)


def _ensure_running_sums(db: Database) -> None:
    """Fill ``student_week_summary`` of a database loaded before migration 0006 (a full refresh, timed)."""
    from db.summaries import refresh_summaries

    with db.begin() as s:
        if s.execute(text("SELECT EXISTS (SELECT 1 FROM student_week_summary)")).scalar():
            return
        t0 = time.perf_counter()
        refresh_summaries(s)
    print(f"full summary refresh (migration 0006) in {time.perf_counter() - t0:.0f} s", flush=True)


def _ensure_admin(db: Database) -> None:
    from services.users import hash_password

    with db.begin() as s:
        s.execute(
            text(
                "INSERT INTO users (email, password_hash, role, is_active) VALUES (:e, :h, 'admin', true) "
                "ON CONFLICT (lower(email)) DO UPDATE SET password_hash = EXCLUDED.password_hash, is_active = true"
            ),
            {"e": ADMIN_EMAIL, "h": hash_password(ADMIN_PASSWORD)},
        )
        s.execute(text("DELETE FROM login_attempts"))


def serve(settings: Settings, port: int) -> tuple[str, Callable[[], None]]:
    """Run ``create_app(settings)`` with werkzeug in a daemon thread; return its base URL and a cache emptier."""
    from dashboard.cache import cache

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def empty_cache() -> None:
        with app.app_context():
            cache.clear()

    return f"http://127.0.0.1:{server.server_port}", empty_cache


def login(base: str) -> requests.Session:
    """A requests session logged in as the bench admin through the real form."""
    http = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{base}/login", timeout=30).text)
    assert token, "no CSRF token on /login"
    r = http.post(f"{base}/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token.group(1), "next": "/"},
                  allow_redirects=False, timeout=30)
    assert r.status_code == 302, f"login failed: {r.status_code}"
    return http


def body(case: Case, search: str) -> dict:
    """The request the Dash renderer sends when the filter store changes."""
    specs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in case.outputs]
    key = case.outputs[0] if len(case.outputs) == 1 else ".." + "...".join(case.outputs) + ".."
    return {
        "output": key,
        "outputs": specs[0] if len(specs) == 1 else specs,
        "inputs": [{"id": "filter-query", "property": "data", "value": search}],
        "changedPropIds": ["filter-query.data"],
    }


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


def time_http(http: requests.Session, base: str, case: Case, search: str, repeats: int,
              before: Callable[[], None] = lambda: None) -> tuple[list[float], int]:
    """Milliseconds of each POST (``before`` runs untimed before each) and the response size."""
    payload, samples, size = body(case, search), [], 0
    http.post(f"{base}/_dash-update-component", json=payload, timeout=120)  # warm-up
    for _ in range(repeats):
        before()
        t0 = time.perf_counter()
        r = http.post(f"{base}/_dash-update-component", json=payload, timeout=120)
        samples.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, f"{case.name} {search}: HTTP {r.status_code} {r.text[:200]}"
        size = len(r.content)
    return samples, size


def time_service(db: Database, case: Case, search: str, repeats: int) -> list[float]:
    """Milliseconds of the service call alone (own session and transaction, as the callback)."""
    viewer, samples = Viewer(0, ADMIN_EMAIL, "admin"), []
    with db.begin() as s:
        filters = parse_search(search, session=s).filters
        case.service(session=s, viewer=viewer, filters=filters)  # warm-up
    for _ in range(repeats):
        t0 = time.perf_counter()
        with db.begin() as s:
            case.service(session=s, viewer=viewer, filters=filters)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def scenarios(db: Database) -> dict[str, str]:
    """Filter sets to time: none, school-level, per-student filters, a date range, one class."""
    with db.begin() as s:
        cls = s.execute(text("SELECT id FROM classes ORDER BY id LIMIT 1")).scalar()
        first = s.execute(text("SELECT min(week) FROM class_week_summary")).scalar()
    import datetime as dt

    to = first + dt.timedelta(days=27)
    return {
        "all": "",
        "grade=9": "?grade=9",
        "study+att": "?study=6%2B&att=90",
        "4 weeks": f"?from={first.isoformat()}&to={to.isoformat()}",
        "one class": f"?class={cls}",
    }


def main(argv: list[str] | None = None) -> int:
    """Parse options, prepare data, time everything, print the table; exit 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=100_000)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="server to create the bench database on")
    ap.add_argument("--name", default="studentperf_dashboard_bench", help="bench database name")
    ap.add_argument("--reuse", action="store_true", help="reuse the bench database when it already holds --students")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    args = ap.parse_args(argv)
    db = prepare(args.database_url, args.name, args.students, args.reuse)
    settings = Settings(database_url=db.url, secret_key="bench-secret-key-" + "x" * 32, home=Path(tempfile.gettempdir()))
    base, empty_cache = serve(settings, 0)
    http = login(base)
    chosen = {k: v for k, v in scenarios(db).items() if not args.only or k in args.only.split(",")}
    header = f"{'scenario':<10} {'callback':<22} {'http p50':>9} {'http p95':>9} {'svc p50':>8} {'svc p95':>8} {'ratio':>6} {'KB':>7} {'cached p95':>10}  verdict"
    print(header)
    print("-" * len(header))
    misses = 0
    for label, search in chosen.items():
        for case in CASES:
            web, size = time_http(http, base, case, search, args.repeats, before=empty_cache)
            cached, _ = time_http(http, base, case, search, args.repeats)
            svc = time_service(db, case, search, args.repeats)
            wp95, sp95 = _p95(web), _p95(svc)
            ok = wp95 < TARGET_P95_MS and wp95 <= RATIO * sp95 + SLACK_MS and size < MAX_BYTES
            misses += not ok
            print(f"{label:<10} {case.name:<22} {statistics.median(web):9.1f} {wp95:9.1f} {statistics.median(svc):8.1f} "
                  f"{sp95:8.1f} {wp95 / sp95:6.2f} {size / 1024:7.1f} {_p95(cached):10.1f}  {'ok' if ok else 'MISS'}", flush=True)
    print(f"\n{misses} of {len(chosen) * len(CASES)} callbacks missed a target "
          f"(p95 < {TARGET_P95_MS:g} ms, <= {RATIO:g} x service + {SLACK_MS:g} ms, < 1 MB)")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
