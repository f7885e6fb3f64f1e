"""Is the product's database reachable right now (for /healthz and the shell's banner)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError


@dataclass(frozen=True)
class Health:
    """The outcome of one health check."""

    database_ok: bool
    detail: str = ""


def check_database(engine: Engine) -> Health:
    """Run ``SELECT 1`` on a pooled connection; unreachable is reported, never raised."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, InterfaceError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return Health(False, reason[0] if reason else type(exc).__name__)
    return Health(True)
