"""One typed settings object, read from the environment and validated at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

LOG_FORMATS = ("console", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


def _default_home() -> Path:
    return Path.home() / ".studentperf"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the product reads from its environment."""

    database_url: str | None = None
    secret_key: str | None = None
    home: Path = field(default_factory=_default_home)
    log_level: str = "INFO"
    log_format: str = "console"
    redis_url: str | None = None
    demo_mode: bool = False
    secure_cookies: bool = False
    pass_threshold: float = 60.0

    def __post_init__(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {self.log_format!r}.")
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}.")
        if self.database_url is not None and not self.database_url.startswith("postgresql"):
            raise SettingsError("DATABASE_URL must be a postgresql:// URL (PostgreSQL is the only supported database).")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read the settings from the environment (or the mapping given)."""
        env = dict(os.environ if env is None else env)
        home = Path(env.get("STUDENTPERF_HOME") or _default_home()).expanduser()
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            secret_key=env.get("SECRET_KEY") or None,
            home=home,
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            log_format=(env.get("LOG_FORMAT") or "console").lower(),
            redis_url=env.get("REDIS_URL") or None,
            demo_mode=_bool(env.get("STUDENTPERF_DEMO")),
            secure_cookies=_bool(env.get("SECURE_COOKIES")),
            pass_threshold=float(env.get("STUDENTPERF_PASS_THRESHOLD") or 60.0),
        )

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def models_dir(self) -> Path:
        """Folder of saved model artifacts."""
        return self.home / "models"

    @property
    def pgdata_dir(self) -> Path:
        """Folder of the embedded PostgreSQL server."""
        return self.home / "pgdata"

    def require_secret_key(self) -> str:
        """The secret key; in demo mode one is made up and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        if not self.demo_mode:
            raise SettingsError("SECRET_KEY is not set: set it to a long random string (or run `studentperf demo`).")
        path = self.home / "secret_key"
        self.home.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
