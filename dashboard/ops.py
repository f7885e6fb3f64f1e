"""Operations endpoints and per-request plumbing: ``/readyz``, ``/metrics``, the request id.

* Every request gets an id (a sane ``X-Request-ID`` from the client or proxy, else a new one), echoed in the
  ``X-Request-ID`` response header and put on every log line written while serving it (core.logging).
* ``/readyz``: 200 with the checks as JSON when ready, 503 when not (see :mod:`services.readiness`).
* ``/metrics`` (only when ``METRICS_ENABLED``): Prometheus text with request counts and latencies per route
  and per Dash callback. Gunicorn runs several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set
  (``gunicorn.conf.py`` sets it when metrics are enabled) every worker writes its samples there and any worker
  answers for all of them. ``/metrics`` needs no login, so expose it to the scraper's network only.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request

from core.logging import REQUEST_ID
from dashboard.deps import SETTINGS_KEY, get_database
from services.readiness import check_readiness

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
CALLBACK_PATH = "/_dash-update-component"
DASH_KEY = "studentperf.dash"
UNMATCHED = "<unmatched>"
UNKNOWN_CALLBACK = "<unknown>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


_METRICS: dict[str, Any] = {}  # this process's metric objects (prometheus_client keeps their values)


def _metrics() -> dict[str, Any]:
    """The process's metric objects, made on first use (after the fork, so multiprocess mode is chosen by then)."""
    if not _METRICS:
        from prometheus_client import Counter, Histogram

        _METRICS.update({
            "requests": Counter("studentperf_http_requests_total", "HTTP requests by route, method and status",
                                ["route", "method", "status"]),
            "latency": Histogram("studentperf_http_request_duration_seconds", "HTTP request latency by route and method",
                                 ["route", "method"], buckets=LATENCY_BUCKETS),
            "callbacks": Counter("studentperf_dash_callbacks_total", "Dash callback requests by callback (its output) and status",
                                 ["callback", "status"]),
            "callback_latency": Histogram("studentperf_dash_callback_duration_seconds", "Dash callback latency by callback",
                                          ["callback"], buckets=LATENCY_BUCKETS),
        })
    return _METRICS


def request_id_from(header: str | None) -> str:
    """The client's request id when it is sane (8-64 of ``A-Z a-z 0-9 . _ : -``), else a new random one."""
    if header and _SANE_ID.match(header):
        return header
    return uuid.uuid4().hex


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_id_token = REQUEST_ID.set(g.request_id)
    g.started = time.perf_counter()


def _callback_label() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    output = body.get("output") if isinstance(body, dict) else None
    dash_app = current_app.extensions.get(DASH_KEY)
    known = dash_app.callback_map if dash_app is not None else {}
    return output if isinstance(output, str) and output in known else UNKNOWN_CALLBACK  # bounded: only real callbacks


def _observe(response: Response) -> None:
    started = g.get("started")
    if started is None:
        return
    elapsed = time.perf_counter() - started
    metrics = _metrics()
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    metrics["requests"].labels(route, request.method, str(response.status_code)).inc()
    metrics["latency"].labels(route, request.method).observe(elapsed)
    if request.path == CALLBACK_PATH and request.method == "POST":
        label = _callback_label()
        metrics["callbacks"].labels(label, str(response.status_code)).inc()
        metrics["callback_latency"].labels(label).observe(elapsed)


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    if current_app.extensions[SETTINGS_KEY].metrics_enabled:
        _observe(response)
    return response


def _forget(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        REQUEST_ID.reset(token)


def readyz() -> tuple[Response, int]:
    """Readiness without login: 200 and every check when ready, 503 when a dependency failed."""
    settings = current_app.extensions[SETTINGS_KEY]
    readiness = check_readiness(get_database(), redis_url=settings.redis_url)
    return jsonify(readiness.to_dict()), 200 if readiness.ready else 503


def metrics() -> Response:
    """Every worker's metrics in Prometheus text format (multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _metrics()
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_ops_routes(server: Flask, *, metrics_enabled: bool) -> set[str]:
    """Add ``/readyz`` (and ``/metrics`` when enabled); returns their endpoints, which need no login."""
    server.add_url_rule("/readyz", "readyz", readyz)
    if not metrics_enabled:
        return {"readyz"}
    server.add_url_rule("/metrics", "metrics", metrics)
    return {"readyz", "metrics"}


def install_request_id(server: Flask) -> None:
    """Give every request an id and time it; call after the guard is installed, so this runs first."""
    server.before_request_funcs.setdefault(None, []).insert(0, _start)
    server.after_request(_finish)
    server.teardown_request(_forget)
