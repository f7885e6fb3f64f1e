"""Deployment: the compose file, the image's Dockerfile and entry point, and where `studentperf serve` listens.

`docker compose config` (or Compose v1's `docker-compose config`) validates the compose file where one is installed;
the compose file is also parsed here and its services checked, so the checks run on machines without Docker. An
image is built only where a Docker daemon answers.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from typer.testing import CliRunner

from studentperf.cli import app as cli_app
from studentperf.cli.web_cmds import bind_address

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
OURS = ("app", "worker", "scheduled-ingest", "digest", "jobs")
COMPOSE_ENV = {"SECRET_KEY": "compose-test-secret-0123456789abcdefghijklmnop", "POSTGRES_PASSWORD": "compose-test-password"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), one list per stage."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def _compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), whichever is installed, else None."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _parses(argv: list[str]) -> bool:
    """True when the real CLI accepts a `studentperf ...` command line (checked with --help, so nothing runs)."""
    assert argv[0] == "studentperf", argv
    result = CliRunner().invoke(cli_app, [*argv[1:], "--help"])
    return result.exit_code == 0 and "Usage" in result.stdout


def test_compose_defines_the_services_and_their_order() -> None:
    services = _compose()["services"]
    assert set(services) == {"app", "db", "redis", "worker", "scheduled-ingest", "digest", "jobs"}
    assert services["db"]["image"].startswith("postgres:16") and services["redis"]["image"].startswith("redis:")
    for name in OURS:
        service = services[name]
        assert service["build"] == "." and service["image"] == "studentperf:latest" and service["init"] is True
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://studentperf:${POSTGRES_PASSWORD:?")
        assert env["DATABASE_URL"].endswith("@db:5432/studentperf") and env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # required, no default: never a committed secret
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    app = services["app"]
    assert app["command"] == ["serve"] and app["ports"] == ["${STUDENTPERF_PUBLISH:-127.0.0.1:8050}:8050"]
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    for name in ("worker", "scheduled-ingest", "jobs"):  # loaders start once the app has migrated the schema
        assert services[name]["depends_on"] == {"app": {"condition": "service_healthy"}}
        assert services[name]["healthcheck"] == {"disable": True}  # the image's check is the web server's
    assert services["worker"]["command"][:4] == ["studentperf", "ingest", "--watch", "/data/inbox"]
    assert "/data/inbox" in services["worker"]["volumes"][1]


def test_every_command_in_compose_exists() -> None:
    services = _compose()["services"]
    commands = [" ".join(map(str, s.get("command") or [])) for s in services.values()]
    celery = [c for c in commands if "celery" in c]  # the background-callback queue: one service, on the worker module
    assert celery == [" ".join(services["jobs"]["command"])] and "-A dashboard.worker:celery_app worker" in celery[0]
    worker = (ROOT / "dashboard" / "worker.py").read_text()
    assert "celery_app = " in worker and "from dashboard.wsgi import" in worker
    scheduled = services["scheduled-ingest"]["command"]
    assert scheduled[0] == "/app/docker/every.sh" and (ROOT / "docker" / "every.sh").stat().st_mode & 0o111
    assert re.fullmatch(r"\$\{SIS_EXPORT_EVERY:-\d+\}", scheduled[1])
    assert services["digest"]["command"][:2] == ["/app/docker/every.sh", "${DIGEST_EVERY:-86400}"]
    assert services["digest"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    for argv in (services["worker"]["command"], scheduled[2:], services["digest"]["command"][2:]):
        assert _parses(argv), argv
    assert not _parses(["studentperf", "ingest", "--watch", "/data/inbox", "--no-such-option"])  # the check can fail
    assert not _parses(["studentperf", "no-such-command"])
    assert ENTRYPOINT.stat().st_mode & 0o111 and "dashboard.wsgi:app" in ENTRYPOINT.read_text()
    assert (ROOT / "dashboard" / "wsgi.py").is_file() and (ROOT / "gunicorn.conf.py").is_file()


def test_docker_compose_config_validates() -> None:
    compose = _compose_command()
    if compose is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: the compose file is only parsed")
    env = {**os.environ, **COMPOSE_ENV}
    ok = subprocess.run([*compose, "-f", str(COMPOSE), "config", "-q"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    missing = {k: v for k, v in env.items() if k != "SECRET_KEY"}
    refused = subprocess.run([*compose, "-f", str(COMPOSE), "config", "-q"], env=missing, capture_output=True, text=True)
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    build, runtime = _stages()
    assert build[0].endswith(" AS build") and runtime[0].endswith(" AS runtime")
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE.read_text())
    final = "\n".join(runtime)
    for tool in ("apt-get", "gcc", "build-essential", "pip install", "curl", "wget"):
        assert tool not in final, f"{tool} in the final stage"
    assert "COPY --from=build /opt/venv /opt/venv" in final and "COPY --from=build /app /app" in final
    user = [line for line in runtime if line.startswith("USER ")]
    assert user == ["USER app:app"] and "--uid 10001" in final
    assert runtime[-2:] == ['ENTRYPOINT ["/app/docker/entrypoint.sh"]', 'CMD ["serve"]']
    assert "STUDENTPERF_BIND=0.0.0.0:8050" in final  # inside a container: reachable through the published port
    assert "pip install --only-binary=:all: -r /tmp/requirements.txt" in "\n".join(build)
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("xgboost-cpu") for d in deps) and not any(re.match(r"xgboost\b(?!-cpu)", d) for d in deps)


def test_the_image_gets_every_package_and_the_context_keeps_them() -> None:
    build = "\n".join(_stages()[0])
    copied = set(re.findall(r"^COPY (?!--)(\S+) ", build, flags=re.M))
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in packages:  # a new top-level package that the image forgets fails here
        assert pattern.rstrip("*") in copied, f"the Dockerfile does not copy {pattern.rstrip('*')}/"
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for source in copied:
        assert (ROOT / source).exists(), source
        assert source not in ignored, f"{source} is copied but excluded by .dockerignore"
    assert {".venv", ".git", ".env", "tests"} <= ignored


def test_serve_listens_on_127_0_0_1_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bind_address({}, None, None) == "127.0.0.1:8050"
    assert bind_address({"PORT": "9000"}, None, None) == "127.0.0.1:9000"
    assert bind_address({}, "0.0.0.0", None) == "0.0.0.0:8050"
    assert bind_address({"STUDENTPERF_BIND": "0.0.0.0:8050"}, None, None) == "0.0.0.0:8050"
    assert bind_address({"STUDENTPERF_BIND": "10.0.0.5:8050"}, None, 9001) == "10.0.0.5:9001"
    for name in ("STUDENTPERF_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "127.0.0.1:8050"
    monkeypatch.setenv("SECRET_KEY", "bind-test-secret-0123456789abcdefghijklmnopqr")
    started: list[dict[str, str]] = []
    monkeypatch.setattr(os, "execvpe", lambda file, args, env: started.append(env))
    from studentperf.cli.web_cmds import serve

    serve(host=None, port=None, workers=None)
    assert started[0]["STUDENTPERF_BIND"] == "127.0.0.1:8050"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(pid: int) -> set[tuple[str, int]]:
    return {(c.laddr.ip, c.laddr.port) for c in psutil.Process(pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN}


def _entry_env(database_url: str, test_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STUDENTPERF_BIND", "PORT", "SECRET_KEY")}
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PATH": path, "PYTHONPATH": str(ROOT), "APP_DIR": str(ROOT), "DATABASE_URL": database_url,
            "STUDENTPERF_HOME": str(test_home), "LOG_LEVEL": "WARNING", "STUDENTPERF_WORKERS": "1", **extra}


def test_entrypoint_needs_a_secret_and_runs_other_commands_as_given(database_url: str, test_home: Path) -> None:
    env = _entry_env(database_url, test_home)
    refused = subprocess.run([str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and refused.stderr.startswith("error: SECRET_KEY is not set")
    given = subprocess.run([str(ENTRYPOINT), "sh", "-c", "echo as given"], env=env, capture_output=True, text=True)
    assert (given.returncode, given.stdout) == (0, "as given\n")


def test_entrypoint_migrates_then_execs_gunicorn_on_127_0_0_1(database_url: str, test_home: Path) -> None:
    port = _free_port()
    env = _entry_env(database_url, test_home, SECRET_KEY="entrypoint-test-secret-0123456789abcdefghijkl", PORT=str(port))
    proc = subprocess.Popen([str(ENTRYPOINT), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, f"the entry point exited: {proc.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, "no answer on /healthz within 120 s"
            time.sleep(0.25)
        assert "gunicorn" in " ".join(psutil.Process(proc.pid).cmdline())  # exec'd: the shell is gone
        assert _listening(proc.pid) == {("127.0.0.1", port)}  # no STUDENTPERF_BIND: this machine only
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stdout.read().startswith("schema at revision ")


@pytest.mark.slow
def test_the_image_builds_and_runs_as_a_user() -> None:
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker daemon answers here: the image is not built (its Dockerfile is checked above)")
    tag = "studentperf:test-deploy"
    built = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    probe = "id -u; command -v gcc cc make || true; studentperf --help >/dev/null && echo cli-ok"
    ran = subprocess.run(["docker", "run", "--rm", tag, "sh", "-c", probe], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0 and ran.stdout.split() == ["10001", "cli-ok"], ran.stdout + ran.stderr


def test_backup_and_restore_with_pg_dump_as_the_readme_says(clean_db, tmp_path: Path) -> None:  # noqa: ANN001
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from etl.generate import write_school
    from etl.pipeline import ingest_file

    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed here")
    write_school(tmp_path / "school.csv", 4, seed=2)
    ingest_file(clean_db, tmp_path / "school.csv")
    engine_url = make_url(clean_db.url)  # SQLAlchemy's (with its driver); pg_dump and pg_restore take libpq's
    url = engine_url.set(drivername="postgresql")
    source = url.render_as_string(hide_password=False)
    dump = tmp_path / "backup.dump"
    dumped = subprocess.run(["pg_dump", source, "-Fc", "-f", str(dump)], capture_output=True, text=True, timeout=300)
    if dumped.returncode != 0 and "version mismatch" in dumped.stderr:
        pytest.skip(f"this pg_dump is older than the server: {dumped.stderr.strip()}")
    assert dumped.returncode == 0, dumped.stderr
    scratch = f"{url.database}_restore"
    admin = create_engine(engine_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    target = url.set(database=scratch)
    try:
        for _ in range(2):  # the second restore replaces the first one's contents (--clean --if-exists)
            restored = subprocess.run(["pg_restore", "-d", target.render_as_string(hide_password=False), "--clean",
                                       "--if-exists", "--no-owner", str(dump)], capture_output=True, text=True, timeout=300)
            assert restored.returncode == 0, restored.stderr
        query = text("SELECT (SELECT count(*) FROM students), (SELECT count(*) FROM attendance), "
                     "(SELECT version_num FROM alembic_version), (SELECT count(*) FROM ingestion_runs)")
        engine = create_engine(engine_url.set(database=scratch))
        with engine.connect() as conn:
            copy = tuple(conn.execute(query).one())
        engine.dispose()
        with clean_db.engine.connect() as conn:
            original = tuple(conn.execute(query).one())
        assert copy == original and copy[:2] == (4, 160)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
