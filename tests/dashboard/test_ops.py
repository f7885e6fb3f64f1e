"""Operations: /readyz (and it failing while the database is down), /metrics behind its setting, request ids, slow queries."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy import text
from webtools import make_client

from core.logging import JsonFormatter, RequestIdFilter
from dashboard.app import create_app
from db.engine import log_slow_queries
from services.readiness import MODEL_BROKEN


def test_readyz_is_public_and_says_what_it_checked(anon_client, database):
    with database.begin() as s:
        active = s.execute(text("SELECT count(*) FROM model_versions WHERE is_active")).scalar_one()
    response = anon_client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["redis"]["status"] == "skipped"  # REDIS_URL is not set
    if not active:  # a fresh install is ready: no model is a warning, not a failure
        assert body["checks"]["model"]["status"] == "warning" and "no active model" in body["checks"]["model"]["detail"]


def test_readyz_fails_when_the_active_model_cannot_be_loaded(anon_client, database, tmp_path):
    with database.begin() as s:
        if s.execute(text("SELECT count(*) FROM model_versions WHERE is_active")).scalar_one():
            pytest.skip("another test left an active model")
        s.execute(text("INSERT INTO model_versions (version, model_type, data_hash, code_version, threshold, artifact_path, "
                       "is_active) VALUES ('ops-broken', 'xgboost', 'x', 'x', 0.5, :p, true)"), {"p": str(tmp_path / "gone.joblib")})
    try:
        response = anon_client.get("/readyz")
        assert response.status_code == 503
        model = response.get_json()["checks"]["model"]
        assert model["status"] == "failed" and model["detail"] == MODEL_BROKEN
        assert str(tmp_path) not in response.get_data(as_text=True)  # no paths to anonymous callers
    finally:
        with database.begin() as s:
            s.execute(text("DELETE FROM model_versions WHERE version = 'ops-broken'"))


def test_readyz_checks_redis_when_configured(test_settings, database):
    app = create_app(test_settings.with_(redis_url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    response = make_client(app).get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"]["status"] == "failed"


def test_readyz_fails_while_the_database_is_down_and_recovers(proxied):
    app, proxy = proxied
    client = make_client(app)
    assert client.get("/readyz").status_code == 200
    proxy.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    body = down.get_json()
    assert body["status"] == "not ready" and body["checks"]["database"] == {"status": "failed", "detail": "unreachable"}
    assert body["checks"]["model"]["status"] == "skipped"
    proxy.start()
    assert client.get("/readyz").status_code == 200


def test_metrics_are_off_unless_enabled(anon_client, admin_client):
    assert anon_client.get("/metrics").status_code == 302  # no such endpoint: the login redirect of any page
    response = admin_client.get("/metrics")
    assert "studentperf_http_requests_total" not in response.get_data(as_text=True)


def _sample(body: str, name: str, **labels: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_routes_and_callbacks(test_settings, database, users, dash_post):
    from webtools import login

    app = create_app(test_settings.with_(metrics_enabled=True))
    client = make_client(app)
    assert login(client, users["admin"].email, users["admin"].password).status_code == 302
    before = make_client(app).get("/metrics").get_data(as_text=True)
    client.get("/api/v1/me")
    client.get("/api/v1/me")
    dash_post(client, "shell-navbar-collapse.is_open", [("shell-navbar-toggler", "n_clicks", 1)], [("shell-navbar-collapse", "is_open", False)])
    dash_post(client, "no-such.children", [("x", "value", 1)])
    response = make_client(app).get("/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    after = response.get_data(as_text=True)
    me = {"route": "/api/v1/me", "method": "GET", "status": "200"}
    assert _sample(after, "studentperf_http_requests_total", **me) - _sample(before, "studentperf_http_requests_total", **me) == 2
    latency = {"route": "/api/v1/me", "method": "GET"}
    assert _sample(after, "studentperf_http_request_duration_seconds_count", **latency) >= 2
    navbar = {"callback": "shell-navbar-collapse.is_open", "status": "200"}
    assert _sample(after, "studentperf_dash_callbacks_total", **navbar) - _sample(before, "studentperf_dash_callbacks_total", **navbar) == 1
    assert _sample(after, "studentperf_dash_callbacks_total", callback="<unknown>", status="400") >= 1
    assert "no-such.children" not in after  # labels are only real callbacks and routes (bounded)
    assert _sample(after, "studentperf_dash_callback_duration_seconds_bucket", callback="shell-navbar-collapse.is_open", le="+Inf") >= 1


def test_request_id_is_echoed_generated_and_logged(app, database, users):
    from webtools import login

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    logging.getLogger("dashboard.app").setLevel(logging.INFO)
    try:
        client = make_client(app)
        given = "req-12345678-abcd"
        client.environ_base["HTTP_X_REQUEST_ID"] = given
        assert login(client, users["staff"].email, users["staff"].password).status_code == 302
        assert client.get("/api/v1/me").headers["X-Request-ID"] == given
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    logins = [line for line in lines if line["event"] == "login"]
    assert logins and all(line["request_id"] == given for line in logins)

    anonymous = make_client(app)
    generated = anonymous.get("/api/v1/me").headers["X-Request-ID"]  # refused requests carry one too
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    for insane in ("short", "x" * 65, "bad id with spaces", "<script>alert(1)</script>"):
        echoed = anonymous.get("/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert echoed != insane and re.fullmatch(r"[0-9a-f]{32}", echoed)


class _Records(logging.Handler):
    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_slow_queries_are_logged_with_their_duration(database):
    records = _Records()
    logger = logging.getLogger("studentperf.db.slow")
    logger.addHandler(records)
    log_slow_queries(database.engine, 20)
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.05)"))
            conn.execute(text("SELECT 1"))
    finally:
        log_slow_queries(database.engine, 500)
        logger.removeHandler(records)
    slow = [r for r in records.records if "pg_sleep" in r.statement or r.statement == "SELECT 1"]
    assert len(slow) == 1
    assert slow[0].getMessage() == "slow query" and slow[0].duration_ms >= 50 and slow[0].threshold_ms == 20
    assert "pg_sleep" in slow[0].statement and slow[0].levelno == logging.WARNING


def test_batch_commands_log_slow_queries_at_debug_level(database):
    """The command line's bulk statements are long by nature: at debug level, so a load does not print warnings."""
    records = _Records(logging.DEBUG)
    logger = logging.getLogger("studentperf.db.slow")
    logger.addHandler(records)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    log_slow_queries(database.engine, 20, logging.DEBUG)
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.05)"))
    finally:
        log_slow_queries(database.engine, 500)
        logger.setLevel(old_level)
        logger.removeHandler(records)
    slow = [r for r in records.records if "pg_sleep" in r.statement]
    assert len(slow) == 1 and slow[0].levelno == logging.DEBUG
