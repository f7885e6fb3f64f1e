"""The embedded PostgreSQL server (pgserver) used when no DATABASE_URL is set."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "studentperf"
_servers: dict[Path, object] = {}


def embedded_url(pgdata: Path) -> str:
    """Start (or reuse) the embedded server in ``pgdata`` and return a SQLAlchemy URL to its database."""
    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path("/tmp") / f"studentperf-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    if os.getuid() == 0 and shutil.which("useradd") is None:
        # as root, pgserver runs PostgreSQL as a user it creates with useradd, which lives in sbin
        os.environ["PATH"] = os.pathsep.join(filter(None, (os.environ.get("PATH"), "/usr/sbin", "/sbin")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = _servers.get(pgdata) or pgserver.get_server(pgdata, cleanup_mode="stop")
    _servers[pgdata] = server
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/path
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "1 row" not in exists:
        log.info("creating embedded database", extra={"pgdata": str(pgdata)})
        server.psql(f"CREATE DATABASE {DB_NAME};")
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1).replace("/postgres?", f"/{DB_NAME}?", 1)


def stop_embedded(pgdata: Path) -> None:
    """Stop the embedded server this process started in ``pgdata`` (a test run's own; commands let it stop at exit)."""
    server = _servers.pop(Path(pgdata).expanduser().resolve(), None)
    if server is not None:
        server.cleanup()  # type: ignore[attr-defined]
