"""Is this instance ready to serve (for ``/readyz``): the database, Redis when configured, the active model.

Decisions: the database is required. Redis is checked only when ``REDIS_URL`` is set. A fresh install with
no trained model is ready (the analytics pages work without one): "no active model" is a warning, not a
failure. An active model that cannot be loaded (artifact missing, features changed) is a failure, because
every risk page and API call would fail until someone retrains or activates another version.
``/readyz`` needs no login, so the body says only what failed; the reasons (hosts, paths) go to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import InterfaceError, OperationalError

from core.errors import DomainError
from db.database import Database
from ml.errors import NoActiveModel
from services.health import check_database

OK, FAILED, WARNING, SKIPPED = "ok", "failed", "warning", "skipped"
REDIS_TIMEOUT_S = 2.0
MODEL_BROKEN = "the active model cannot be loaded (see the server log): retrain it or activate another version"
log = logging.getLogger("studentperf.readiness")


@dataclass(frozen=True)
class Check:
    """One dependency's state: ``ok``, ``failed``, ``warning`` (works, but says something) or ``skipped``."""

    name: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Readiness:
    """Every check; ready unless one failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """True when no check failed (warnings do not count)."""
        return all(c.status != FAILED for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        """The JSON body of ``/readyz``."""
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {c.name: {"status": c.status, **({"detail": c.detail} if c.detail else {})} for c in self.checks},
        }


def _redis(url: str | None) -> Check:
    if not url:
        return Check("redis", SKIPPED, "REDIS_URL is not set")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        log.warning("readiness: redis unreachable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return Check("redis", FAILED, "unreachable")
    return Check("redis", OK)


def _model(database: Database) -> Check:
    from ml.registry import load_model

    try:
        with database.begin() as s:
            model = load_model(s)
    except NoActiveModel:
        return Check("model", WARNING, "no active model: the risk pages say so until one is trained")
    except DomainError as exc:
        log.warning("readiness: %s", exc)
        return Check("model", FAILED, MODEL_BROKEN)
    except (OperationalError, InterfaceError):
        return Check("model", FAILED, "the database went away while reading the model registry")
    return Check("model", OK, model.info.version)


def check_readiness(database: Database, *, redis_url: str | None) -> Readiness:
    """Check the database, Redis (when ``redis_url`` is set) and the active model; never raises for a dependency down.

    Parameters
    ----------
    database : the product's database handle.
    redis_url : ``REDIS_URL``, or None when Redis is not used.
    """
    health = check_database(database.engine)
    if not health.database_ok:
        log.warning("readiness: database unreachable: %s", health.detail)
    checks = [Check("database", OK if health.database_ok else FAILED, "" if health.database_ok else "unreachable")]
    checks.append(_redis(redis_url))
    if health.database_ok:
        checks.append(_model(database))
    else:
        checks.append(Check("model", SKIPPED, "the database is unreachable"))
    return Readiness(checks)
