"""The job queue: RQ on Redis when REDIS_URL is set, otherwise in-process.

Without Redis, jobs run inline in the caller (fakeredis with is_async=False),
so a single-machine portal needs no Redis at all. That mode is single-process
only: RQ's scheduling never fires there; the embedded default runs the schedule in a thread of
its own instead (portal.jobs.embedded, started by `make run`)."""
from __future__ import annotations

import functools
import logging

import redis
from flask import current_app
from rq import Queue

log = logging.getLogger(__name__)


class QueueUnavailable(RuntimeError):
    """Redis is configured but does not answer."""


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
    name = name or current_app.config["RQ_QUEUE"]
    connection = redis_connection()
    if connection is None:
        import fakeredis

        return Queue(name, connection=fakeredis.FakeRedis(), is_async=False)
    return Queue(name, connection=connection)


def enqueue(func: str, *args, job_id: str | None = None, **kwargs):
    """Enqueue the job named by its dotted path (`"worker.jobs.dispatch_recurring_job"`), or run it
    now in in-process mode; QueueUnavailable if Redis is down. A name, not the function: the web
    app never imports the worker."""
    queue = get_queue()
    try:
        return queue.enqueue(func, *args, job_id=job_id, result_ttl=7 * 24 * 3600,
                             failure_ttl=7 * 24 * 3600, **kwargs)
    except redis.RedisError as error:
        log.warning("could not enqueue %s: %s", func, error)
        raise QueueUnavailable("The job queue (Redis) is not reachable.") from error
