"""Load bench: 50 people at once against ``studentperf serve``, ``/healthz`` as the floor, then faults.

Loads a generated district (default 100,000 students a year, one past year behind the current one, a trained
model and a scoring run) into a throwaway database once (``--reuse`` keeps it), creates the logins of the
mixes, serves it with ``studentperf serve`` (Gunicorn, ``--workers``) and drives it with locust for
``--duration`` seconds per mix:

* ``district``: 35 teachers of one class each, 10 staff, 5 administrators;
* ``worst``: 50 district-wide viewers (administrators).

Each virtual user logs in through the form, opens pages, changes filters, opens profiles and calls the API;
one probe asks ``/healthz`` five times a second on the same server in the same run: the floor.

With ``--faults`` a third run of the district mix goes through a database proxy and a private Redis, and
cuts the database for ``--outage`` seconds, kills a Gunicorn worker, then stops Redis; the errors are
counted per window (while the database is down, after it is back, around the killed worker, after Redis
stopped).

Targets (issue 12): 0 errors in both mixes; callback and API p95 under 500 ms in the district mix and under
1 s in the worst case; errors only while the database is down; no failed requests beyond those in flight when
the worker dies; none once Redis is gone.

Locust lives in its own virtualenv (it needs urllib3 2; the browser-test stack pins 1.26)::

    python3 -m venv .venv-load && .venv-load/bin/pip install locust
    .venv/bin/python bench/load.py --students 100000 --reuse --faults
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from core.settings import Settings
from db.database import Database, connect
from db.engine import normalise_url
from db.models import SchoolClass, ScoringRun, Student

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_bench import bench_database  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PASSWORD = "load-bench-password-1"
TEACHERS, STAFF, ADMINS = 35, 10, 5
TARGETS_MS = {"district": 500.0, "worst": 1000.0}
SECRET = "load-bench-secret-key-" + "x" * 40


# --- the data -----------------------------------------------------------------------------------------------


def prepare(base_url: str, name: str, n_students: int, reuse: bool, home: Path) -> Database:
    """Create (or reuse) the bench database: a generated district with a trained model and a scoring run."""
    db = connect(bench_database(base_url, name, reuse), str(home), migrate=True)
    with db.begin() as s:
        students = s.scalar(select(func.count()).select_from(Student))
        scored = s.scalar(select(func.count()).select_from(ScoringRun))
    if students < n_students or not scored:
        _load(db, n_students, home)
    return db


def _load(db: Database, n_students: int, home: Path) -> None:
    import datetime as dt

    from etl.generate import part_way_date, write_school
    from etl.pipeline import ingest_file
    from ml.score import score_all
    from ml.train import train_and_register

    settings = Settings(database_url=db.url, secret_key=SECRET, home=home)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = write_school(Path(tmp) / "district.csv", n_students, seed=0, years=2, as_of=part_way_date(dt.date.today()))
        print(f"generated {n_students:,} students a year, 2 years, in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        report = ingest_file(db, path, truncate=True, force=True)
        print(f"ingested in {time.perf_counter() - t0:.0f} s: {report.message}", flush=True)
    t0 = time.perf_counter()
    train_and_register(db, settings)
    score_all(db, settings)
    print(f"trained and scored in {time.perf_counter() - t0:.0f} s", flush=True)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def make_logins(db: Database) -> dict[str, list[dict[str, str]]]:
    """The mixes' accounts (35 teachers of one current class each, 10 staff, 5 admins), made afresh."""
    from services.users import add_user

    logins: dict[str, list[dict[str, str]]] = {"teachers": [], "staff": [], "admins": []}
    with db.begin() as s:
        s.execute(text("DELETE FROM users WHERE email LIKE 'load-%@example.org'"))
        s.execute(text("DELETE FROM login_attempts"))
        year = s.scalar(select(func.max(SchoolClass.school_year)))
        classes = s.scalars(select(SchoolClass.id).where(SchoolClass.school_year == year).order_by(SchoolClass.id)).all()
        for i in range(TEACHERS):
            email = f"load-teacher-{i}@example.org"
            add_user(s, email=email, password=PASSWORD, role="teacher", classes=[str(classes[i % len(classes)])])
            logins["teachers"].append({"email": email, "password": PASSWORD})
        for kind, role, n in (("staff", "staff", STAFF), ("admins", "admin", ADMINS)):
            for i in range(n):
                email = f"load-{role}-{i}@example.org"
                schools = [str(i) for i in s.scalars(select(SchoolClass.school_id).distinct())] if role == "staff" else []
                add_user(s, email=email, password=PASSWORD, role=role, schools=schools)  # staff see only their schools
                logins[kind].append({"email": email, "password": PASSWORD})
    return logins


# --- the server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """``studentperf serve`` as a child process."""

    process: subprocess.Popen
    base: str

    def worker_pids(self) -> list[int]:
        """The Gunicorn workers (children of the master)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        """Stop Gunicorn and wait for it."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve(database_url: str, workers: int, home: Path, log: Path, redis_url: str | None = None) -> Server:
    """Start ``studentperf serve`` on a free port and wait until ``/healthz`` answers."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "STUDENTPERF_HOME": str(home),
           "STUDENTPERF_LOG_LEVEL": "WARNING", "SCORE_AFTER_INGEST": "0"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    cmd = [sys.executable, "-m", "studentperf", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"studentperf serve exited ({process.returncode}); see {log}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                return Server(process, base)
        except requests.RequestException:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"studentperf serve did not answer within 120 s; see {log}")


# --- locust -------------------------------------------------------------------------------------------------


def run_locust(locust: Path, base: str, classes: list[str], users: int, seconds: int, out: Path, logins: Path,
               events: Path) -> list[dict[str, str]]:
    """Run locust headless for ``seconds``; return its per-request-type stats rows."""
    env = {**os.environ, "LOAD_USERS": str(logins), "LOAD_EVENTS": str(events)}
    cmd = [str(locust), "-f", str(HERE / "locustfile.py"), "--headless", "--host", base, "-u", str(users + 1),
           "-r", str(max(5, users // 5)), "-t", f"{seconds}s", "--csv", str(out), "--only-summary", "--stop-timeout", "10",
           *classes]
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(out.parent / "locust.log").open("ab"),
                   check=False)
    with open(f"{out}_stats.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def report(mix: str, rows: list[dict[str, str]], seconds: int) -> bool:
    """Print requests per second, p50/p95 and errors per request type, with ratios to the floor; True if on target."""
    floor = next((r for r in rows if r["Name"] == "healthz (floor)"), None)
    floor_p95 = float(floor["95%"]) if floor else float("nan")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"\n== {mix}: {float(total['Requests/s']):.1f} requests/s over {seconds} s, "
          f"{int(total['Failure Count'])} errors of {int(total['Request Count'])}; floor /healthz p95 {floor_p95:.0f} ms")
    print(f"{'request':28} {'count':>7} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p95/floor':>9}")
    ok = int(total["Failure Count"]) == 0
    for r in sorted((r for r in rows if r["Name"] != "Aggregated"), key=lambda r: r["Name"]):
        p95 = float(r["95%"] if r["95%"] != "N/A" else "nan")
        print(f"{r['Name'][:28]:28} {int(r['Request Count']):7d} {int(r['Failure Count']):6d} "
              f"{float(r['Median Response Time']):7.0f} {p95:7.0f} {p95 / floor_p95 if floor_p95 else float('nan'):9.1f}")
        if r["Name"].startswith(("cb ", "api ")) and p95 > TARGETS_MS[mix]:
            ok = False
    print(f"target: 0 errors, callback and API p95 < {TARGETS_MS[mix]:.0f} ms -> {'met' if ok else 'MISSED'}")
    return ok


# --- faults -------------------------------------------------------------------------------------------------


def database_proxy(database_url: str):  # -> tests/dashboard/webtools.DatabaseProxy
    """A forwarder to PostgreSQL that can be cut (``stop``: every connection dropped, new ones refused) and
    restored (``start``), the tests' own (TCP or Unix socket, as the URL is)."""
    sys.path.insert(0, str(ROOT / "tests" / "dashboard"))
    from webtools import DatabaseProxy

    return DatabaseProxy(make_url(normalise_url(database_url))).start()


def private_redis(folder: Path) -> tuple[subprocess.Popen, str] | None:
    """A throwaway ``redis-server`` on a free port (so stopping it touches nobody else), or None if not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


def fault_run(args: argparse.Namespace, database_url: str, home: Path, out: Path, logins: Path) -> bool:
    """The district mix through a cuttable database proxy and a private Redis, with three faults on a timeline."""
    proxy = database_proxy(database_url)
    redis = private_redis(out)
    server = serve(proxy.url, args.workers, home, out / "serve-faults.log", redis[1] if redis else None)
    events = out / "faults.jsonl"
    events.unlink(missing_ok=True)
    seconds = max(args.duration, 90)
    marks: dict[str, float] = {}
    import threading

    def timeline() -> None:
        time.sleep(20)
        marks["db down"] = time.time()
        proxy.stop()
        time.sleep(args.outage)
        proxy.start()
        marks["db back"] = time.time()
        time.sleep(15)
        pids = server.worker_pids()
        if pids:
            marks["worker killed"] = time.time()
            os.kill(pids[0], signal.SIGKILL)
        time.sleep(15)
        if redis:
            marks["redis stopped"] = time.time()
            redis[0].terminate()

    thread = threading.Thread(target=timeline, daemon=True)
    thread.start()
    try:
        run_locust(args.locust, server.base, ["Teacher", "Staff", "Admin", "HealthProbe"], args.users, seconds,
                   out / "faults", logins, events)
    finally:
        thread.join(timeout=5)
        server.stop()
        proxy.close()
        if redis and redis[0].poll() is None:
            redis[0].terminate()
    return fault_report(events, marks, args.outage)


def fault_report(events: Path, marks: dict[str, float], outage: int) -> bool:
    """Errors per window of the fault timeline."""
    rows = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    start, end = (rows[0]["t"], rows[-1]["t"]) if rows else (0.0, 0.0)
    down, back = marks.get("db down", end), marks.get("db back", end)
    killed, redis = marks.get("worker killed", end), marks.get("redis stopped", end)
    windows = [
        ("before any fault", start, down),
        (f"database down ({outage} s) + 5 s to reconnect", down, back + 5),
        ("database back, before the worker dies", back + 5, killed),
        ("worker killed: its in-flight requests (2 s)", killed, killed + 2),
        ("after the worker was replaced", killed + 2, redis),
        ("Redis stopped", redis, end + 1),
    ]
    print("\n== faults (district mix): errors per window")
    ok = True
    for name, lo, hi in windows:
        inside = [r for r in rows if lo <= r["t"] < hi]
        errors = sum(not r["ok"] for r in inside)
        expected = name.startswith(("database down", "worker killed"))
        print(f"  {name:48} {len(inside):6d} requests {errors:5d} errors{'  (allowed)' if expected else ''}")
        if errors and not expected:
            ok = False
    print(f"target: errors only while the database is down and in the killed worker's requests -> {'met' if ok else 'MISSED'}")
    return ok


# --- main ---------------------------------------------------------------------------------------------------


def main() -> int:
    """Prepare, serve, run both mixes (and the faults), print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--name", default="bench_load")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--outage", type=int, default=10)
    parser.add_argument("--locust", type=Path, default=ROOT / ".venv-load" / "bin" / "locust")
    args = parser.parse_args()
    if not args.locust.exists():
        print(f"locust not found at {args.locust}: python3 -m venv .venv-load && .venv-load/bin/pip install locust")
        return 2
    out = Path(tempfile.mkdtemp(prefix="load-bench-"))
    home = out / "home"
    home.mkdir()
    db = prepare(args.database_url, args.name, args.students, args.reuse, home)
    logins_file = out / "logins.json"
    logins_file.write_text(json.dumps(make_logins(db)))
    db.engine.dispose()
    print(f"results and logs in {out}")
    ok = True
    server = serve(db.url, args.workers, home, out / "serve.log")
    try:
        mixes = {"district": ["Teacher", "Staff", "Admin", "HealthProbe"], "worst": ["Admin", "HealthProbe"]}
        for mix, classes in mixes.items():
            rows = run_locust(args.locust, server.base, classes, args.users, args.duration, out / mix, logins_file,
                              out / f"{mix}.jsonl")
            ok &= report(mix, rows, args.duration)
    finally:
        server.stop()
    if args.faults:
        ok &= fault_run(args, db.url, home, out, logins_file)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
