"""One upload limit (``UPLOAD_MAX_MB``) and one set of kinds for both surfaces: ``POST /api/v1/ingest`` and the
upload page's callbacks answer a file over the limit with one sentence naming it (413), never a bare status."""

from __future__ import annotations

import base64
import gzip
import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import wipe  # noqa: E402
from webtools import login, make_client, post_dash  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.deps import SETTINGS_KEY  # noqa: E402
from services.tokens import create_token  # noqa: E402

PROBLEM = "application/problem+json"
SENTENCE = "The upload is larger than the 1 MB allowed: split it into smaller files or load it with `studentperf ingest`."
HEADER = "student_id,student_name,date,study_hours,attendance_rate,final_score\n"


@pytest.fixture()
def small(test_settings, database, tmp_path):  # noqa: ANN001, ANN201
    """An app whose uploads may hold 1 MB (requests about 2.3 MB), with its own uploads folder; no data."""
    wipe(database)
    yield create_app(test_settings.with_(upload_max_mb=1, home=tmp_path / "home", score_after_ingest=False))
    wipe(database)


def _bearer(database, email: str) -> dict[str, str]:  # noqa: ANN001
    with database.begin() as s:
        return {"Authorization": f"Bearer {create_token(s, email=email, actor='test').secret}"}


def _post(client, headers: dict[str, str], name: str, data: bytes):  # noqa: ANN001, ANN202
    return client.post("/api/v1/ingest", data={"file": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


def _rows(n: int, prefix: str = "L") -> str:
    return HEADER + "".join(f"{prefix}{i},Pupil {i},2025-09-01,5,0.9,70\n" for i in range(n))


def test_the_api_answers_over_the_limit_with_a_sentence_naming_it(small, database, users) -> None:  # noqa: ANN001
    client, headers = make_client(small), _bearer(database, users["admin"].email)
    within_the_request = _post(client, headers, "big.csv", b"a" * 1_500_000)  # over 1 MB, under the request limit
    beyond_the_request = _post(client, headers, "big.csv", b"a" * 3_000_000)  # Flask refuses it before reading it
    for answer in (within_the_request, beyond_the_request):
        assert answer.status_code == 413 and answer.mimetype == PROBLEM
        assert answer.get_json()["detail"] == SENTENCE
    assert not any(p.is_file() for p in small.extensions[SETTINGS_KEY].uploads_dir.rglob("*"))  # nothing kept
    with database.begin() as s:
        assert s.execute(text("SELECT count(*) FROM ingestion_runs")).scalar() == 0


def test_the_api_takes_the_kinds_the_page_takes_with_the_same_sentences(small, database, users) -> None:  # noqa: ANN001
    client, headers = make_client(small), _bearer(database, users["admin"].email)
    loaded = {name: _post(client, headers, name, data) for name, data in (
        ("utf16.csv", _rows(3, "U").encode("utf-16")), ("week.csv.gz", gzip.compress(_rows(2, "G").encode())),
        ("week.tsv", _rows(2, "T").replace(",", "\t").encode()))}
    assert {n: r.status_code for n, r in loaded.items()} == {"utf16.csv": 200, "week.csv.gz": 200, "week.tsv": 200}
    assert loaded["utf16.csv"].get_json()["rows_inserted"] == 3
    refused = _post(client, headers, "notes.pdf", b"%PDF-1.4")
    assert refused.status_code == 400 and refused.get_json()["detail"] == (
        "notes.pdf is not a file we can load: upload .csv, .tsv, .txt, .csv.gz or .xlsx files.")
    picture = _post(client, headers, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert picture.status_code == 400 and "this is not a CSV file (it looks like a PNG image)" in picture.get_json()["detail"]


def test_the_upload_page_answers_over_the_limit_with_the_same_sentence(small, users) -> None:  # noqa: ANN001
    admin = make_client(small)
    assert login(admin, users["admin"].email, users["admin"].password).status_code == 302
    encoded = "data:text/csv;base64," + base64.b64encode(b"a" * 1_200_000).decode()  # 1.6 MB sent: within the request
    saved = post_dash(admin, [f"{ids.ADMIN_TICKET}.data", f"{ids.ADMIN_UPLOAD_MESSAGE}.children"],
                      [(ids.ADMIN_UPLOAD, "contents", [encoded])], [(ids.ADMIN_UPLOAD, "filename", ["big.csv"])])
    assert saved.status_code == 200 and SENTENCE in saved.get_data(as_text=True)
    assert saved.get_json()["response"][ids.ADMIN_TICKET]["data"] is None
    huge = "data:text/csv;base64," + base64.b64encode(b"a" * 3_000_000).decode()  # 4 MB: beyond the request limit
    refused = post_dash(admin, [f"{ids.ADMIN_TICKET}.data", f"{ids.ADMIN_UPLOAD_MESSAGE}.children"],
                        [(ids.ADMIN_UPLOAD, "contents", [huge])], [(ids.ADMIN_UPLOAD, "filename", ["big.csv"])])
    assert refused.status_code == 413 and refused.get_json()["error"] == SENTENCE


def test_the_page_tells_the_browser_its_limit(small, users) -> None:  # noqa: ANN001
    admin = make_client(small)
    assert login(admin, users["admin"].email, users["admin"].password).status_code == 302
    page = post_dash(admin, ["_pages_content.children", "_pages_store.data"],
                     [("_pages_location", "pathname", "/admin/uploads"), ("_pages_location", "search", "")])
    body = page.get_data(as_text=True)
    assert '"data-max-bytes":"1000000"' in body and '"max_size":1000000' in body and "Up to 1 MB" in body
    assert small.test_client().get("/assets/upload_limit.js").status_code == 200
