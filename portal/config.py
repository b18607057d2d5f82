"""Configuration read from the environment.

Every setting has an embedded default so that a fresh clone runs with SQLite
and in-process jobs; production sets DATABASE_URL, REDIS_URL and SECRET_KEY.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_dir() -> Path:
    path = Path(os.environ.get("PORTAL_INSTANCE_DIR", Path.cwd() / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _development_secret_key(instance: Path) -> str:
    """A random key kept under instance/, so sessions survive restarts in development."""
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'portal.db'}"
    # Heroku-style URLs name the driver "postgres"; we run psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    def __init__(self) -> None:
        instance = _instance_dir()
        self.INSTANCE_DIR = str(instance)
        self.ENV_NAME = os.environ.get("PORTAL_ENV", os.environ.get("FLASK_ENV", "development"))
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        if not self.SECRET_KEY and self.ENV_NAME != "production":
            self.SECRET_KEY = _development_secret_key(instance)
        self.SQLALCHEMY_DATABASE_URI = _database_url(instance)
        # hide_parameters: a database error must not carry note text or reasons into logs or Sentry.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.SENTRY_DSN = os.environ.get("SENTRY_DSN") or None
        self.SENTRY_RELEASE = os.environ.get("SENTRY_RELEASE") or None
        self.PORTAL_TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "UTC")
        self.RQ_QUEUE = os.environ.get("RQ_QUEUE", "portal")
        self.DISPATCHER_WORKERS = max(1, int(os.environ.get("DISPATCHER_WORKERS", "2")))
        self.RECORDINGS_DIR = os.environ.get("RECORDINGS_DIR", str(instance / "recordings"))
        self.RECORDING_LINK_TTL = int(os.environ.get("RECORDING_LINK_TTL", str(24 * 3600)))
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
            self.REDIS_URL or "memory://"
        )
        self.RATELIMIT_HEADERS_ENABLED = True
        # Reverse proxies in front of the app that set X-Forwarded-For (0: none).
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per 5 minutes")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.ENV_NAME == "production"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", str(4 * 1024**3)))
        # flask-smorest: the OpenAPI document lives beside the API it describes.
        self.API_TITLE = "Clinic portal API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.RQ_DASHBOARD_REDIS_URL = self.REDIS_URL or "redis://127.0.0.1:6379/0"

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}
