"""Configuration read from the environment and checked once, at start-up.

Every setting has an embedded default so that a fresh clone runs with SQLite
and in-process jobs; production sets DATABASE_URL, REDIS_URL and SECRET_KEY.
Reading the configuration writes nothing: the development secret key file is
created by create_app (ensure_secret_key), and only when no key was given.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.domain.inputs import DEFAULT_BOOKING_AHEAD_DAYS

# Whole-number settings and their smallest value, checked whether they come from the
# environment or from the mapping given to create_app.
INTEGER_SETTINGS = {"PROXY_HOPS": 0, "DISPATCHER_WORKERS": 1, "RECURRING_HORIZON_DAYS": 0, "RECORDING_LINK_TTL": 1,
                    "MAX_REQUEST_BYTES": 1, "MAX_UPLOAD_BYTES": 1, "RECORDING_STREAM_TTL": 1,
                    "RECORDING_RETENTION_DAYS": 1, "MAX_BOOKING_AHEAD_DAYS": 1, "REMINDER_HOURS": 1,
                    "AUTO_COMPLETE_HOURS": 1, "OUTBOX_MAX_TRIES": 1, "OUTBOX_RETRY_SECONDS": 0,
                    "SQLITE_BUSY_TIMEOUT_MS": 1, "CLINICAL_RECORD_RETENTION_YEARS": 1, "PUBLIC_CACHE_SECONDS": 1,
                    "DATABASE_PING_AFTER_IDLE": 0}
# Rate limits written the way Flask-Limiter reads them ("60 per minute", "10 per 10 minutes").
RATE_LIMIT_SETTINGS = ("LOGIN_RATE_LIMIT", "WRITE_RATE_LIMIT", "BOOKING_RATE_LIMIT", "PUBLIC_READ_RATE_LIMIT")
# Settings read from an environment variable of another name.
ENV_NAMES: dict[str, str] = {}


class ConfigError(RuntimeError):
    """A setting is missing or malformed: the app refuses to start, naming it."""


def default_instance_path() -> str:
    """PORTAL_INSTANCE_DIR, else ./instance (absolute, as Flask wants it)."""
    return os.path.abspath(os.environ.get("PORTAL_INSTANCE_DIR") or Path.cwd() / "instance")


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {text!r}.") from None


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'portal.db'}"
    # Heroku-style URLs name the driver "postgres"; we run psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """The settings as the environment gives them, for the instance folder `instance_path`."""

    def __init__(self, instance_path: str | os.PathLike | None = None) -> None:
        instance = Path(instance_path or default_instance_path())
        self.ENV_NAME = os.environ.get("PORTAL_ENV", os.environ.get("FLASK_ENV", "development"))
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        self.SQLALCHEMY_DATABASE_URI = _database_url(instance)
        # hide_parameters: a database error must not carry note text or reasons into logs or Sentry.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
        # A pooled connection idle this many seconds is pinged before use (0: every use);
        # portal.models.pool says what a shorter or longer wait trades.
        self.DATABASE_PING_AFTER_IDLE = _env_int("DATABASE_PING_AFTER_IDLE", 10)
        # SQLite: how long a writer waits for the write lock behind others before the request
        # answers 503 (each holds it for one request's work, a few milliseconds).
        # PostgreSQL: the role each request's transactions switch to, so that row-level security
        # applies (docs/row-level-security.md); empty: no switch, the Python policies alone.
        self.DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "portal_app").strip()
        self.SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15_000)
        # Refuse (not only log) a request that writes where portal.web.transactions' rule says
        # it only reads; the tests set it.
        self.STRICT_WRITE_INTENT = False
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.SENTRY_DSN = os.environ.get("SENTRY_DSN") or None
        self.SENTRY_RELEASE = os.environ.get("SENTRY_RELEASE") or None
        self.PORTAL_TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "UTC")
        self.RQ_QUEUE = os.environ.get("RQ_QUEUE", "portal")
        self.DISPATCHER_WORKERS = _env_int("DISPATCHER_WORKERS", 1)
        # How many days ahead a series holds its occurrences booked (0: only the run date's).
        self.RECURRING_HORIZON_DAYS = _env_int("RECURRING_HORIZON_DAYS", 28)
        self.RECORDINGS_DIR = os.environ.get("RECORDINGS_DIR", str(instance / "recordings"))
        # A signed link is a one-time code, exchanged within this many seconds for a cookie
        # that lets the browser stream (and seek) for RECORDING_STREAM_TTL seconds.
        self.RECORDING_LINK_TTL = _env_int("RECORDING_LINK_TTL", 15 * 60)
        self.RECORDING_STREAM_TTL = _env_int("RECORDING_STREAM_TTL", 4 * 3600)
        self.RECORDING_RETENTION_DAYS = _env_int("RECORDING_RETENTION_DAYS", 90)
        # An erased patient's clinical notes and booking history are kept this long after their
        # last session, detached from their identity, then deleted by the nightly retention job.
        self.CLINICAL_RECORD_RETENTION_YEARS = _env_int("CLINICAL_RECORD_RETENTION_YEARS", 10)
        # "local" (RECORDINGS_DIR) or "s3://bucket/prefix" (endpoint and credentials as boto3
        # reads them from the environment, or RECORDINGS_S3_ENDPOINT_URL).
        self.RECORDINGS_STORAGE = os.environ.get("RECORDINGS_STORAGE", "local")
        self.RECORDINGS_S3_ENDPOINT_URL = os.environ.get("RECORDINGS_S3_ENDPOINT_URL") or None
        # Master key (base64 of 32 bytes) wrapping each recording's data key; earlier keys,
        # still needed until `recordings rotate-key` has re-wrapped everything, in RECORDINGS_OLD_KEYS.
        self.RECORDINGS_KEY = os.environ.get("RECORDINGS_KEY") or None
        self.RECORDINGS_OLD_KEYS = os.environ.get("RECORDINGS_OLD_KEYS") or ""
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
            self.REDIS_URL or "memory://"
        )
        self.RATELIMIT_HEADERS_ENABLED = True
        # Reverse proxies in front of the app that set X-Forwarded-For (0: none).
        self.PROXY_HOPS = _env_int("PROXY_HOPS", 0)
        # Failed sign-ins only: per (account, address) pair, and per address whatever the account.
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per 5 minutes")
        # Every state-changing request, per user (and per API token; per address when signed out).
        self.WRITE_RATE_LIMIT = os.environ.get("WRITE_RATE_LIMIT", "60 per minute")
        # Booking creation, per patient booked.
        self.BOOKING_RATE_LIMIT = os.environ.get("BOOKING_RATE_LIMIT", "10 per 10 minutes")
        # Signed-out reads of the public pages and API, per address.
        self.PUBLIC_READ_RATE_LIMIT = os.environ.get("PUBLIC_READ_RATE_LIMIT", "120 per minute")
        # How long a specialist's free times, as strangers see them, may be served from the cache.
        self.PUBLIC_CACHE_SECONDS = _env_int("PUBLIC_CACHE_SECONDS", 60)
        # The furthest ahead any specialist's booking window may reach.
        self.MAX_BOOKING_AHEAD_DAYS = _env_int("MAX_BOOKING_AHEAD_DAYS", DEFAULT_BOOKING_AHEAD_DAYS)
        self.LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "50 per 5 minutes")
        self.ALLOW_SIGNUP = os.environ.get("ALLOW_SIGNUP", "1").strip().lower() not in ("0", "false", "no", "off")
        self.REMEMBER_COOKIE_DURATION = timedelta(days=30)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.ENV_NAME == "production"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.WTF_CSRF_TIME_LIMIT = None
        # Every route's body limit; only the recording upload routes accept MAX_UPLOAD_BYTES
        # (portal.web.limits answers 413 before the body is read).
        self.MAX_REQUEST_BYTES = _env_int("MAX_REQUEST_BYTES", 1024 * 1024)
        self.MAX_UPLOAD_BYTES = _env_int("MAX_UPLOAD_BYTES", 4 * 1024**3)
        # flask-smorest: the OpenAPI document lives beside the API it describes.
        self.API_TITLE = "Clinic portal API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        # E-mail: no SMTP_URL writes messages to instance/mail (and the console) instead of sending them.
        self.SMTP_URL = os.environ.get("SMTP_URL") or None
        self.SMTP_CA_FILE = os.environ.get("SMTP_CA_FILE") or None
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "Clinic portal <clinic@localhost>")
        self.PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        self.REMINDER_HOURS = _env_int("REMINDER_HOURS", 24)
        # The video host a session's own room is made on (the portal makes the URL, calls no one).
        self.VIDEO_ROOM_BASE_URL = os.environ.get("VIDEO_ROOM_BASE_URL", "https://meet.jit.si").rstrip("/")
        # A recording is attached only to a booking whose patient consented to being recorded.
        self.RECORDING_CONSENT_REQUIRED = os.environ.get("RECORDING_CONSENT_REQUIRED", "1").strip().lower() not in (
            "0", "false", "no", "off")
        # Sessions still "confirmed" this many hours after they ended are marked completed each night.
        self.AUTO_COMPLETE_HOURS = _env_int("AUTO_COMPLETE_HOURS", 24)
        self.OUTBOX_MAX_TRIES = _env_int("OUTBOX_MAX_TRIES", 5)
        # Backoff between tries: this many seconds, times 4 for each try already made.
        self.OUTBOX_RETRY_SECONDS = _env_int("OUTBOX_RETRY_SECONDS", 60)
        # Without Redis, `make run` sets this so that the development server runs the schedule itself.
        self.EMBEDDED_SCHEDULER = os.environ.get("EMBEDDED_SCHEDULER", "").lower() in ("1", "true", "yes")
        self.RQ_DASHBOARD_REDIS_URL = self.REDIS_URL or "redis://127.0.0.1:6379/0"

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


def validate(config: Mapping) -> None:
    """ConfigError, naming the setting, for a value the portal cannot run with."""
    for key, minimum in INTEGER_SETTINGS.items():
        value, name = config.get(key), ENV_NAMES.get(key, key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number, not {value!r}.")
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    _validate_recordings(config)
    for key in RATE_LIMIT_SETTINGS:
        _check_rate_limit(key, config.get(key))
    smtp_url = config.get("SMTP_URL")
    if smtp_url and not str(smtp_url).startswith(("smtp://", "smtps://", "smtp+starttls://")):
        raise ConfigError("SMTP_URL must start with smtp://, smtps:// or smtp+starttls://.")
    if not str(config.get("PORTAL_BASE_URL", "http://x")).startswith(("http://", "https://")):
        raise ConfigError("PORTAL_BASE_URL must be an absolute http(s) URL.")
    if not str(config.get("VIDEO_ROOM_BASE_URL", "https://x")).startswith("https://"):
        raise ConfigError("VIDEO_ROOM_BASE_URL must be an absolute https URL.")
    try:
        ZoneInfo(str(config.get("PORTAL_TIMEZONE")))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PORTAL_TIMEZONE must name a time zone, not {config.get('PORTAL_TIMEZONE')!r}.") from None


def _validate_recordings(config: Mapping) -> None:
    from portal.services.recordings.keys import ConfigKeyError, parse_key

    try:
        if config.get("RECORDINGS_KEY"):
            parse_key(str(config["RECORDINGS_KEY"]))
        for part in str(config.get("RECORDINGS_OLD_KEYS") or "").replace(",", " ").split():
            parse_key(part, "RECORDINGS_OLD_KEYS")
    except ConfigKeyError as error:
        raise ConfigError(str(error)) from None
    storage = str(config.get("RECORDINGS_STORAGE") or "local")
    if storage != "local" and not (storage.startswith("s3://") and len(storage) > len("s3://")
                                   and not storage.startswith("s3:///")):
        raise ConfigError(f"RECORDINGS_STORAGE must be 'local' or 's3://bucket/prefix', not {storage!r}.")


def ensure_recordings_key(config: dict, instance_path: str) -> None:
    """Production must be given RECORDINGS_KEY; development keeps a random one under the
    instance folder (0600), as it does the secret key."""
    if config.get("RECORDINGS_KEY"):
        return
    if config.get("ENV_NAME") == "production":
        raise ConfigError("RECORDINGS_KEY must be set in production (base64 of 32 random bytes).")
    from portal.services.recordings.keys import development_key

    config["RECORDINGS_KEY"] = development_key(Path(instance_path))


def _check_rate_limit(name: str, value) -> None:
    from limits import parse_many

    try:
        if not parse_many(str(value)):
            raise ValueError(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '60 per minute', not {value!r}.") from None


def ensure_secret_key(config: dict, instance_path: str) -> None:
    """Production must be given SECRET_KEY; development keeps a random one under the
    instance folder, so that sessions survive restarts."""
    if config.get("SECRET_KEY"):
        return
    if config.get("ENV_NAME") == "production":
        raise ConfigError("SECRET_KEY must be set in production (PORTAL_ENV=production).")
    config["SECRET_KEY"] = _development_secret_key(Path(instance_path))


def ensure_instance_folder(config: Mapping, instance_path: str) -> None:
    """Make the instance folder when the default SQLite database is to live there."""
    if config["SQLALCHEMY_DATABASE_URI"].startswith(f"sqlite:///{Path(instance_path)}{os.sep}"):
        Path(instance_path).mkdir(parents=True, exist_ok=True)


def _development_secret_key(instance: Path) -> str:
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
