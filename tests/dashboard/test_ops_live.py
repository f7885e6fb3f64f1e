"""Under `studentperf serve` (Gunicorn, 2 workers): /metrics adds up every worker's requests; access lines carry the request id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from webtools import live_server


@pytest.fixture(scope="module")
def metrics_server(database_url, test_home, database, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`studentperf serve` with metrics on and JSON logs; yields its URL and its stdout file (the access log)."""
    out = tmp_path_factory.mktemp("live-ops") / "stdout.log"
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "live-ops-secret-key-not-for-production",
           "STUDENTPERF_HOME": str(test_home), "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING", "METRICS_ENABLED": "true",
           "PROMETHEUS_MULTIPROC_DIR": None}
    with live_server(env, out, ready="/readyz") as url:
        yield url, out


def _healthz_count(url: str) -> float:
    body = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("studentperf_http_requests_total{") and 'route="/healthz"' in line
    )


def test_metrics_add_up_every_workers_requests(metrics_server):
    url, _ = metrics_server
    before = _healthz_count(url)
    for _ in range(30):  # new connections each time: Gunicorn spreads them over both workers
        assert requests.get(f"{url}/healthz", timeout=10, headers={"Connection": "close"}).status_code == 200
    counts = {_healthz_count(url) for _ in range(6)}  # whichever worker answers /metrics
    assert counts == {before + 30}


def test_access_log_lines_carry_the_request_id(metrics_server):
    url, out = metrics_server
    response = requests.get(f"{url}/healthz", headers={"X-Request-ID": "live-ops-req-0001"}, timeout=10)
    assert response.headers["X-Request-ID"] == "live-ops-req-0001"
    for _ in range(20):
        lines = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
        access = [line for line in lines if line.get("logger") == "gunicorn.access" and line.get("request_id") == "live-ops-req-0001"]
        if access:
            break
        time.sleep(0.25)
    assert access and access[0]["path"] == "/healthz" and access[0]["status"] == "200"
