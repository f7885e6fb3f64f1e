"""Cache bench: the shared answers cold (cache emptied before each request) against cached, side by side.

Uses the dashboard bench's throwaway database and in-thread server, logs in as its admin, then for each
filter scenario times ``GET /api/v1/kpis`` and the overview callbacks (KPIs, distribution, trends) with the
cache emptied before every request (the baseline) and then repeated (a cache hit), and prints the ratio.
Also times one ``data_version`` read, the price every cached answer pays.

    nice -n 10 .venv/bin/python bench/cache_bench.py --students 20000 --reuse
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_bench import CASES, _p95, login, prepare, scenarios, serve, time_http  # noqa: E402

from core.settings import Settings  # noqa: E402
from services.data_version import data_version  # noqa: E402

SHARED = ("overview.kpis", "overview.distribution", "overview.trends")


def time_api(http: requests.Session, url: str, repeats: int, before) -> list[float]:  # noqa: ANN001
    """Milliseconds of each GET (``before`` runs untimed before each)."""
    http.get(url, timeout=120)
    samples = []
    for _ in range(repeats):
        before()
        t0 = time.perf_counter()
        r = http.get(url, timeout=120)
        samples.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text[:200]
    return samples


def main(argv: list[str] | None = None) -> int:
    """Prepare data, time cold against cached answers, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=20_000)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--name", default="studentperf_cache_bench")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args(argv)
    db = prepare(args.database_url, args.name, args.students, args.reuse)
    home = Path(tempfile.mkdtemp(prefix="cache-bench-"))
    settings = Settings(database_url=db.url, secret_key="bench-secret-key-" + "x" * 32, home=home)
    base, empty_cache = serve(settings, 0)
    http = login(base)
    with db.begin() as s:
        data_version(s)
        t0 = time.perf_counter()
        for _ in range(100):
            data_version(s)
        print(f"data_version: {(time.perf_counter() - t0) * 10:.2f} ms per read")
    print(f"{'scenario':<10} {'answer':<22} {'cold p50':>9} {'cold p95':>9} {'hit p50':>8} {'hit p95':>8} {'cold/hit':>8}")
    for label, search in scenarios(db).items():
        rows = [("api /kpis", time_api(http, f"{base}/api/v1/kpis{search}", args.repeats, empty_cache),
                 time_api(http, f"{base}/api/v1/kpis{search}", args.repeats, lambda: None))]
        for case in (c for c in CASES if c.name in SHARED):
            cold, _ = time_http(http, base, case, search, args.repeats, before=empty_cache)
            hit, _ = time_http(http, base, case, search, args.repeats)
            rows.append((case.name, cold, hit))
        for name, cold, hit in rows:
            print(f"{label:<10} {name:<22} {statistics.median(cold):9.1f} {_p95(cold):9.1f} {statistics.median(hit):8.1f} "
                  f"{_p95(hit):8.1f} {statistics.median(cold) / statistics.median(hit):8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
