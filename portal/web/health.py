"""The health check load balancers probe: 200 while the database answers, 503 otherwise."""
from __future__ import annotations

import logging

import redis
import sqlalchemy as sa
from flask import Flask, jsonify

from portal.extensions import db
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


def healthz():
    """200 while the database answers (Redis down degrades, it does not fail), 503 otherwise."""
    database = _database_status()
    body = {"status": "ok" if database == "ok" else "unavailable",
            "database": database, "redis": _redis_status()}
    response = jsonify(body)
    response.status_code = 200 if database == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


healthz.allowed_roles = PUBLIC  # read by the role-by-endpoint test
