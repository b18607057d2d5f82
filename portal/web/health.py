"""The health check load balancers probe: 200 while the database answers, 503 otherwise.

"degraded" (still 200: the portal serves) names what is off while Redis or the rate-limit
storage cannot be reached: the job queue, or the sign-in throttle and the write and booking
limits, which let requests through uncounted rather than refuse them."""
from __future__ import annotations

import logging

import redis
import sqlalchemy as sa
from flask import Flask, jsonify

from portal.extensions import db, limiter
from portal.jobs.queue import redis_connection
from portal.web.blueprints import PUBLIC

log = logging.getLogger(__name__)


def configure_health(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", healthz)


def _database_status() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as error:  # noqa: BLE001 -- any failure means "not usable", whatever the driver says
        log.warning("health check: database unavailable: %s", type(error).__name__)
        db.session.rollback()
        return "unavailable"


def _redis_status() -> str:
    connection = redis_connection()
    if connection is None:
        return "not configured (jobs run in-process)"
    try:
        connection.ping()
        return "ok"
    except redis.RedisError as error:
        log.warning("health check: redis unavailable: %s", type(error).__name__)
        return "unavailable"


def _rate_limit_status() -> str:
    if not limiter.enabled:
        return "disabled"
    try:
        return "ok" if limiter.limiter.storage.check() else "unavailable"
    except Exception as error:  # noqa: BLE001 -- any failure means "not counting"
        log.warning("health check: rate-limit storage unavailable: %s", type(error).__name__)
        return "unavailable"


def _switched_off(redis_status: str, rate_limits: str) -> list[str]:
    off = []
    if redis_status == "unavailable":
        off.append("job queue")
    if rate_limits == "unavailable":
        off += ["sign-in throttle", "write limits", "booking limits"]
    return off


def _overall(database: str, off: list[str]) -> str:
    if database != "ok":
        return "unavailable"
    return "degraded" if off else "ok"


def healthz():
    """200 while the database answers (Redis or the rate-limit storage down degrades, it does
    not fail), 503 otherwise."""
    database, redis_status, rate_limits = _database_status(), _redis_status(), _rate_limit_status()
    off = _switched_off(redis_status, rate_limits)
    body = {"status": _overall(database, off), "database": database, "redis": redis_status,
            "rate_limits": rate_limits, "off": off}
    response = jsonify(body)
    response.status_code = 200 if database == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


healthz.allowed_roles = PUBLIC  # read by the role-by-endpoint test
