"""One typed settings object, read from the environment and validated at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

LOG_FORMATS = ("console", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_UPLOAD_MB = 200
"""The largest UPLOAD_MAX_MB: a browser holds the whole upload in memory, base64-encoded."""
REQUEST_MARGIN = 1 << 20
"""Bytes a request may carry beside its files (the callback's other values, multipart headers)."""
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_CHARACTERS = 10  # distinct characters: "a" * 40 is long but not secret
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "change_me", "secret", "secret-key", "secretkey", "your-secret-key", "dev", "development",
     "please-change-me", "replace-me", "xxx", "test", "password", "default", "insecure", "notsecret"}
)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


def _default_home() -> Path:
    return Path.home() / ".studentperf"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None


def check_secret_strength(key: str) -> None:
    """Raise SettingsError (one sentence) when ``key`` is too short, too repetitive or a known placeholder."""
    if key.strip().lower() in PLACEHOLDER_SECRETS:
        raise SettingsError("SECRET_KEY is a well-known placeholder: set it to a long random string "
                            "(python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < MIN_SECRET_KEY_CHARACTERS:
        raise SettingsError(f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters "
                            "(python -c 'import secrets; print(secrets.token_urlsafe(48))').")


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
    metrics_enabled: bool = False
    slow_query_ms: int = 500
    score_after_ingest: bool = True  # `studentperf ingest` scores with the active model after a successful load
    smtp_url: str | None = None  # smtp://[user:password@]host:port (smtps:// for TLS): the weekly digest is off without it
    mail_from: str = "studentperf@localhost"  # the digest's sender
    public_url: str | None = None  # e.g. https://analytics.school.example: the digest's links start with it
    upload_max_mb: int = 40  # the most one upload may hold (all its files), in megabytes: /admin/uploads and the API
    api_rate_limit: str = "600/minute"  # per user (session or API token) on /api/v1, Flask-Limiter notation
    stale_after_days: int = 14  # the freshness banner warns when the latest data or scoring run is older than this
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted (never when clients reach Gunicorn)

    def __post_init__(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {self.log_format!r}.")
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}.")
        if self.database_url is not None and not self.database_url.startswith("postgresql"):
            raise SettingsError("DATABASE_URL must be a postgresql:// URL (PostgreSQL is the only supported database).")
        if self.smtp_url is not None and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise SettingsError("SMTP_URL must look like smtp://host:port (or smtps://user:password@host:465).")
        if self.slow_query_ms < 0:
            raise SettingsError(f"SLOW_QUERY_MS must be 0 (off) or a positive number of milliseconds, not {self.slow_query_ms}.")
        if not 1 <= self.upload_max_mb <= MAX_UPLOAD_MB:
            raise SettingsError(f"UPLOAD_MAX_MB must lie between 1 and {MAX_UPLOAD_MB} (a larger export loads with "
                                f"`studentperf ingest`), not {self.upload_max_mb}.")
        if not 0 <= self.proxy_hops <= 5:
            raise SettingsError(f"STUDENTPERF_PROXY_HOPS is the number of reverse proxies in front (0-5), not {self.proxy_hops}.")
        if self.stale_after_days < 1:
            raise SettingsError(f"STALE_AFTER_DAYS must be a whole number of days, 1 or more, not {self.stale_after_days}.")

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
            metrics_enabled=_bool(env.get("METRICS_ENABLED")),
            slow_query_ms=_int(env, "SLOW_QUERY_MS", 500),
            score_after_ingest=_bool(env.get("SCORE_AFTER_INGEST"), True),
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or "studentperf@localhost",
            public_url=(env.get("PUBLIC_URL") or "").rstrip("/") or None,
            upload_max_mb=_int(env, "UPLOAD_MAX_MB", 40),
            api_rate_limit=env.get("API_RATE_LIMIT") or "600/minute",
            stale_after_days=_int(env, "STALE_AFTER_DAYS", 14),
            proxy_hops=_int(env, "STUDENTPERF_PROXY_HOPS", 0),
        )

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def upload_max_bytes(self) -> int:
        """The most one upload may hold (all its files), in bytes."""
        return self.upload_max_mb * 1_000_000

    @property
    def request_max_bytes(self) -> int:
        """The largest request body accepted (Flask's MAX_CONTENT_LENGTH): an upload at the limit, base64-encoded as
        the browser sends it (4 bytes for every 3), plus a margin."""
        return -(-self.upload_max_bytes * 4 // 3) + REQUEST_MARGIN

    @property
    def models_dir(self) -> Path:
        """Folder of saved model artifacts."""
        return self.home / "models"

    @property
    def uploads_dir(self) -> Path:
        """Folder of files uploaded on /admin/uploads, each upload in a folder of its own."""
        return self.home / "uploads"

    @property
    def jobs_dir(self) -> Path:
        """Folder of the disk cache of the dashboard's background jobs (when Redis is not configured)."""
        return self.home / "jobs"

    @property
    def pgdata_dir(self) -> Path:
        """Folder of the embedded PostgreSQL server."""
        return self.home / "pgdata"

    def require_secret_key(self) -> str:
        """The secret key (checked for strength outside demo mode); in demo mode one is made up and kept in the data folder."""
        if self.secret_key:
            if not self.demo_mode:
                check_secret_strength(self.secret_key)
            return self.secret_key
        if not self.demo_mode:
            raise SettingsError("SECRET_KEY is not set: set it to a long random string (or run `studentperf demo`).")
        path = self.home / "secret_key"
        self.home.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
