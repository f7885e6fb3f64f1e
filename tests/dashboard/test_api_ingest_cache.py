"""``POST /api/v1/ingest`` (admins, the real pipeline, audited) and the cache of shared answers: never older than
the last load, keyed by scope, and never required (Redis on a closed port: the product still answers)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import wipe  # noqa: E402
from webtools import login, make_client, post_dash  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.cache import shared_answer  # noqa: E402
from dashboard.deps import read_session  # noqa: E402
from db.database import Database  # noqa: E402
from etl.generate import write_school  # noqa: E402
from services import audit  # noqa: E402
from services.scope import Filters, Viewer  # noqa: E402
from services.tokens import create_token  # noqa: E402

PROBLEM = "application/problem+json"
CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens there: every cache and limiter call fails at once


@pytest.fixture()
def empty(database: Database) -> Iterator[Database]:
    """No student data before and after the test."""
    wipe(database)
    yield database
    wipe(database)


def token_of(database: Database, email: str) -> dict[str, str]:
    """A Bearer header for ``email``."""
    with database.begin() as s:
        return {"Authorization": f"Bearer {create_token(s, email=email, actor='test').secret}"}


def upload(client, headers: dict[str, str], path: Path, **form: str):
    """POST the file to /api/v1/ingest as multipart form data."""
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), **form}
    return client.post("/api/v1/ingest", data=data, headers=headers, content_type="multipart/form-data")


def n_students(database: Database) -> int:
    """Students in the summary table."""
    with database.begin() as s:
        return s.execute(text("SELECT count(*) FROM student_summary")).scalar_one()


def test_admin_ingests_a_file_and_gets_the_run_report(app, empty, users, tmp_path):
    path = write_school(tmp_path / "api-load.csv", 25, seed=4)
    client, headers = make_client(app), token_of(empty, users["admin"].email)
    response = upload(client, headers, path, school="Upload School")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    report = response.get_json()
    assert report["status"] == "succeeded" and report["file_name"] == "api-load.csv" and report["run_id"]
    assert report["rows_inserted"] > 0 and n_students(empty) == 25
    again = upload(client, headers, path).get_json()
    assert again["status"] == "skipped" and "already loaded" in again["message"]
    with empty.begin() as s:
        entries = s.execute(text("SELECT target, details FROM audit_log WHERE action = :a AND user_id = :u ORDER BY id"),
                            {"a": audit.UPLOAD, "u": users["admin"].user_id}).all()
    assert [(e.target, e.details["status"], e.details["via"]) for e in entries[-2:]] == [
        ("api-load.csv", "succeeded", "api"), ("api-load.csv", "skipped", "api")]


def test_an_api_load_is_scored_by_the_active_model_like_the_cli(app, empty, users, tmp_path, test_settings):
    from ml.train import train_and_register

    client, headers = make_client(app), token_of(empty, users["admin"].email)
    first = upload(client, headers, write_school(tmp_path / "s1.csv", 60, seed=5, years=2), school="Score School")
    assert first.get_json()["scoring"] is None  # no model yet: the load alone
    train_and_register(empty, test_settings, seed=0)
    second = upload(client, headers, write_school(tmp_path / "s2.csv", 20, seed=6, years=2), school="Score Two")
    scoring = second.get_json()["scoring"]
    with empty.begin() as s:
        runs = s.execute(text("SELECT count(*), max(n_scored) FROM scoring_runs")).one()
    assert runs[0] == 1 and scoring["scored"] == runs[1] > 0 and sum(scoring["tiers"].values()) == scoring["scored"]


def test_ingest_refuses_non_admins_and_bad_files_with_a_sentence(app, empty, users, tmp_path):
    client = make_client(app)
    staff = upload(client, token_of(empty, users["staff"].email), write_school(tmp_path / "x.csv", 5, seed=1))
    assert staff.status_code == 403 and staff.mimetype == PROBLEM and "administrators" in staff.get_json()["detail"]
    admin = token_of(empty, users["admin"].email)
    none = client.post("/api/v1/ingest", data={}, headers=admin, content_type="multipart/form-data")
    assert none.status_code == 400 and "field named file" in none.get_json()["detail"]
    junk = tmp_path / "junk.csv"
    junk.write_text("hello,world\n1,2\n", encoding="utf-8")
    bad = upload(client, admin, junk)
    assert bad.status_code == 400 and bad.mimetype == PROBLEM and bad.get_json()["detail"].endswith(".")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    refused = upload(client, admin, exe)
    assert refused.status_code == 400 and "upload .csv, .tsv, .txt, .csv.gz or .xlsx files" in refused.get_json()["detail"]
    assert n_students(empty) == 0


def test_kpis_are_never_older_than_the_last_load(app, empty, users, tmp_path):
    """Load, read, load again, read: the second read shows the new data (the cache keys on the data version)."""
    client, headers = make_client(app), token_of(empty, users["admin"].email)
    assert upload(client, headers, write_school(tmp_path / "one.csv", 20, seed=1), school="Cache One").status_code == 200
    first = client.get("/api/v1/kpis", headers=headers).get_json()
    assert first["n_students"] == n_students(empty) == 20
    assert client.get("/api/v1/kpis", headers=headers).get_json() == first  # same answer (from the cache)
    assert upload(client, headers, write_school(tmp_path / "two.csv", 15, seed=2), school="Cache Two").status_code == 200
    second = client.get("/api/v1/kpis", headers=headers).get_json()
    assert second["n_students"] == n_students(empty) == 35


def test_shared_answers_are_computed_once_per_scope_filters_and_data_version(app, empty, users):
    calls: list[tuple[str, Filters]] = []

    def service(*, session, viewer, filters):  # noqa: ANN001, ANN202
        calls.append((viewer.scope_key(), filters))
        return {"asked": len(calls)}

    admin = Viewer(1, "a@x", "admin")
    teacher = Viewer(2, "t@x", "teacher", frozenset({7, 3}))
    with app.test_request_context("/"), read_session() as s:
        assert shared_answer(service, session=s, viewer=admin, filters=Filters()) == {"asked": 1}
        assert shared_answer(service, session=s, viewer=Viewer(9, "b@x", "admin"), filters=Filters()) == {"asked": 1}
        assert shared_answer(service, session=s, viewer=teacher, filters=Filters()) == {"asked": 2}
        assert shared_answer(service, session=s, viewer=admin, filters=Filters(grade_level=9)) == {"asked": 3}
        staff_a, staff_b = (Viewer(n, f"s{n}@x", "staff", school_ids=frozenset({n})) for n in (1, 2))
        assert shared_answer(service, session=s, viewer=staff_a, filters=Filters()) == {"asked": 4}
        assert shared_answer(service, session=s, viewer=staff_b, filters=Filters()) == {"asked": 5}  # never A's answer
        s.execute(text("INSERT INTO ingestion_runs (file_name, sha256, status) VALUES ('v.csv', 'x', 'succeeded')"))
        assert shared_answer(service, session=s, viewer=admin, filters=Filters()) == {"asked": 6}
    assert teacher.scope_key() == "teacher:s:c3,7" and admin.scope_key() == "admin"
    assert staff_a.scope_key() == "staff:s1:c" != staff_b.scope_key()


def test_redis_down_the_api_and_the_pages_still_answer(test_settings, empty, users, tmp_path):
    app = create_app(test_settings.with_(redis_url=CLOSED_PORT))
    client, headers = make_client(app), token_of(empty, users["admin"].email)
    assert upload(client, headers, write_school(tmp_path / "r.csv", 12, seed=3), school="Redis School").status_code == 200
    for _ in range(2):
        kpis = client.get("/api/v1/kpis", headers=headers)
        assert kpis.status_code == 200 and kpis.get_json()["n_students"] == 12
    browser = make_client(app)  # an administrator: the new school is nobody's school yet
    assert login(browser, users["admin"].email, users["admin"].password).status_code == 302
    assert browser.get("/api/v1/me").status_code == 200
    kpis_card = post_dash(browser, f"{ids.OVERVIEW_KPIS}.children", [(ids.FILTER_QUERY, "data", "")])
    assert kpis_card.status_code == 200 and '"12"' in kpis_card.get_data(as_text=True)


def test_the_overview_page_shows_the_new_data_after_a_load(app, empty, users, tmp_path):
    """The same on the dashboard: the KPI callback's answer after a second load counts the new students."""
    admin, browser = token_of(empty, users["admin"].email), make_client(app)
    assert login(browser, users["admin"].email, users["admin"].password).status_code == 302  # the new schools are nobody's yet

    def students_shown() -> str:
        card = post_dash(browser, f"{ids.OVERVIEW_KPIS}.children", [(ids.FILTER_QUERY, "data", "")])
        assert card.status_code == 200
        return card.get_data(as_text=True)

    assert upload(make_client(app), admin, write_school(tmp_path / "p1.csv", 11, seed=1), school="Page One").status_code == 200
    assert '"11"' in students_shown() and '"11"' in students_shown()
    assert upload(make_client(app), admin, write_school(tmp_path / "p2.csv", 13, seed=2), school="Page Two").status_code == 200
    assert '"24"' in students_shown()


def test_data_version_never_comes_back_after_the_ids_restart(app, empty):
    from services.data_version import data_version

    insert = text("INSERT INTO ingestion_runs (file_name, sha256, status) VALUES ('v.csv', 'x', 'succeeded')")
    with empty.begin() as s:
        s.execute(insert)
    with empty.begin() as s:
        before = data_version(s)
    wipe(empty)  # TRUNCATE ... RESTART IDENTITY: the next run gets id 1 again
    with empty.begin() as s:
        s.execute(insert)
    with empty.begin() as s:
        after = data_version(s)
    assert before.split(".")[0] == after.split(".")[0] == "1" and before != after


def _redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/9"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return None
    return url


def test_with_redis_workers_share_the_cache_and_the_rate_limit(test_settings, empty, users, tmp_path):
    import redis

    url = _redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    shared = test_settings.with_(redis_url=url, api_rate_limit="4/minute")
    one, two = create_app(shared), create_app(shared)  # two workers
    ingest_headers = token_of(empty, users["admin"].email)
    assert upload(make_client(one), ingest_headers, write_school(tmp_path / "w.csv", 10, seed=6),
                  school="Worker School").status_code == 200
    headers = token_of(empty, users["admin"].email)  # the new school is nobody's school yet: the district's
    answers = [make_client(app).get("/api/v1/kpis", headers=headers) for app in (one, two, one, two)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert {a.get_json()["n_students"] for a in answers} == {10}
    assert make_client(one).get("/api/v1/kpis", headers=headers).status_code == 429  # 4 per minute, both workers
    client = redis.Redis.from_url(url)
    cached = client.keys("studentperf:answer:*")
    assert cached  # the answer was kept in Redis, where every worker finds it
    client.delete(*cached)


def test_an_unusable_cache_folder_does_not_stop_the_app(test_settings, tmp_path, database, users):
    blocker = tmp_path / "home"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    app = create_app(test_settings.with_(home=blocker))
    client = make_client(app)
    assert client.get("/api/v1/me", headers=token_of(database, users["staff"].email)).status_code == 200
