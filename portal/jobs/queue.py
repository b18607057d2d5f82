"""The job queue: RQ on Redis when REDIS_URL is set, otherwise the job is called directly.

Without Redis a single-machine portal needs no queue at all: `enqueue` calls the job in the
caller's process and answers how it ended, as RQ would have recorded it (a failing job is
reported failed, not raised). RQ's scheduling never fires there; the embedded default runs
the schedule in a thread of its own instead (portal.jobs.embedded, started by `make run`)."""
from __future__ import annotations

import functools
import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import current_app
from rq import Queue

log = logging.getLogger(__name__)

RESULT_TTL = 7 * 24 * 3600
FINAL = ("finished", "failed", "stopped", "canceled", "missing")


class QueueUnavailable(RuntimeError):
    """Redis is configured but does not answer."""


@dataclass
class JobState:
    """Where a job is: queued, started, finished (with its result) or failed (with the error's last line)."""

    id: str
    status: str
    result: dict | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in FINAL


def redis_connection(url: str | None = None) -> redis.Redis | None:
    url = url if url is not None else current_app.config.get("REDIS_URL")
    if not url:
        return None
    return _client(url)


@functools.lru_cache(maxsize=8)
def _client(url: str) -> redis.Redis:
    """One client (and connection pool) per URL and process, not a new TCP connection and handshake
    for every request that enqueues or reads a job. redis-py's pool notices a fork (gunicorn, RQ's
    work horses) and opens fresh connections in the child."""
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def get_queue(name: str | None = None) -> Queue:
    """The RQ queue on the configured Redis (REDIS_URL must be set)."""
    connection = redis_connection()
    if connection is None:
        raise RuntimeError("REDIS_URL is not set: there is no queue, jobs are called directly")
    return Queue(name or current_app.config["RQ_QUEUE"], connection=connection)


def enqueue(func: Callable, *args, job_timeout: int | None = None) -> JobState:
    """Enqueue the job on Redis, or call it now when there is no Redis; QueueUnavailable if
    Redis is configured but down. `job_timeout` (seconds) applies on the workers only."""
    if redis_connection() is None:
        return _call(func, *args)
    try:
        job = get_queue().enqueue(func, *args, job_timeout=job_timeout, result_ttl=RESULT_TTL,
                                  failure_ttl=RESULT_TTL)
    except redis.RedisError as error:
        log.warning("could not enqueue %s: %s", func.__name__, error)
        raise QueueUnavailable("The job queue (Redis) is not reachable.") from error
    return JobState(id=job.id, status="queued")


def _call(func: Callable, *args) -> JobState:
    state = JobState(id=str(uuid.uuid4()), status="finished")
    try:
        value = func(*args)
    except Exception as error:  # noqa: BLE001 - reported as a failed job, as a worker would
        log.exception("job %s failed", func.__name__)
        state.status, state.error = "failed", traceback.format_exception_only(error)[-1].strip()
        return state
    state.result = value if isinstance(value, dict) else {"message": str(value)}
    return state
