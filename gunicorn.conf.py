"""Gunicorn settings for ``studentperf serve`` (and ``gunicorn -c gunicorn.conf.py dashboard.wsgi:app``).

Read from the environment: ``STUDENTPERF_BIND`` (default ``127.0.0.1:$PORT``, ``PORT`` default 8050: only this
machine; the container image sets ``0.0.0.0:8050``), ``STUDENTPERF_WORKERS``,
``STUDENTPERF_THREADS``, ``STUDENTPERF_TIMEOUT``, ``LOG_LEVEL``, ``LOG_FORMAT=json`` for JSON access
lines. No preloading: each worker imports ``dashboard.wsgi`` after the fork and builds its own app,
SQLAlchemy engine and connection pool (engines are never shared across processes).

With ``METRICS_ENABLED=true`` the workers keep their Prometheus samples in ``PROMETHEUS_MULTIPROC_DIR`` (a
fresh temporary folder when unset; emptied at start-up), so ``/metrics`` on any worker reports all of them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


def _bind() -> str:
    if os.environ.get("STUDENTPERF_BIND"):
        return os.environ["STUDENTPERF_BIND"]
    return f"127.0.0.1:{_int('PORT', 8050)}"


wsgi_app = "dashboard.wsgi:app"
bind = _bind()
workers = _int("STUDENTPERF_WORKERS", min(4, multiprocessing.cpu_count() * 2 + 1))
threads = _int("STUDENTPERF_THREADS", 2)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("STUDENTPERF_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
preload_app = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = "-"

METRICS = os.environ.get("METRICS_ENABLED", "").strip().lower() in {"1", "true", "yes", "on"}
if METRICS and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="studentperf-metrics-")  # inherited by workers

if os.environ.get("LOG_FORMAT", "").lower() == "json":
    access_log_format = json.dumps(
        {
            "ts": "%(t)s",
            "logger": "gunicorn.access",
            "remote": "%(h)s",
            "method": "%(m)s",
            "path": "%(U)s",
            "status": "%(s)s",
            "bytes": "%(B)s",
            "duration_ms": "%(M)s",
            "user_agent": "%(a)s",
            "request_id": "%({x-request-id}o)s",
        }
    )
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'


def post_fork(server, worker):  # noqa: ANN001, ANN201, ARG001
    """With preloading turned on, drop the connection pool inherited from the master (never share sockets)."""
    import sys

    module = sys.modules.get("dashboard.wsgi")
    if module is not None:
        module.app.extensions["studentperf.db"].engine.dispose(close=False)


def on_starting(server):  # noqa: ANN001, ANN201, ARG001
    """Start from an empty metrics folder (samples of an earlier run would be added to this one's)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if METRICS and folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):  # noqa: ANN001, ANN201, ARG001
    """A worker ended: drop its live-gauge files (its counters and histograms stay in the totals)."""
    if METRICS and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
