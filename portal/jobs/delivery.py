"""Starting delivery when outbox rows are committed.

With Redis, the ids a commit wrote (portal.services.outbox.note_new) go onto a list in Redis right
after it, and a delivery job is woken, so mail goes out within seconds and the request never waits
on SMTP. The wake-up is a flag set beside the ids in the same round trip: while a woken job is
still waiting in the queue, later commits find the flag set and enqueue nothing, since that job
takes their ids off the list too. The job clears the flag as it begins, so what commits from then
on wakes the next one; under load every free worker takes a job, and each takes ids no other job
gets. Claiming by id keeps the deliverer off the outbox's index of due rows, which every delivered
message leaves a dead entry in until it is vacuumed. Ids lost with Redis, and retries, are the
minute sweep's; a flag whose job was lost expires after WAKE_SECONDS.

Without Redis nothing is enqueued (the inline queue would deliver inside the request): the
in-process scheduler (portal.jobs.embedded) picks the rows up within seconds."""
from __future__ import annotations

import contextlib
import logging

import redis
import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session

from portal.jobs.queue import QueueUnavailable, enqueue, redis_connection
from portal.jobs.tasks import job
from portal.services.outbox import SESSION_KEY

log = logging.getLogger(__name__)
_registered = False
WAKE_SECONDS = 60
# The newest ids kept on the list when no worker takes them (the sweep delivers their rows anyway).
MAX_NOTED = 100_000


def _keys() -> tuple[str, str]:
    queue = current_app.config["RQ_QUEUE"]
    return f"portal:outbox-wake:{queue}", f"portal:outbox-committed:{queue}"


def delivery_wake(ids: list[str] = ()) -> None:
    """Note `ids` for delivery and see that a job is on its way: enqueue one, unless one is queued
    and has not begun (it will take them)."""
    connection = redis_connection()
    if connection is None:
        return
    wake, noted = _keys()
    try:
        pipe = connection.pipeline(transaction=False)
        if ids:
            pipe.rpush(noted, *ids)
            pipe.ltrim(noted, -MAX_NOTED, -1)
        pipe.set(wake, "1", nx=True, ex=WAKE_SECONDS)
        if not pipe.execute()[-1]:
            return
        enqueue(deliver_committed_outbox_job)
    except (redis.RedisError, QueueUnavailable) as error:
        log.warning("outbox: could not wake delivery (%s); the minute sweep will send the mail", error)
        with contextlib.suppress(redis.RedisError):
            connection.delete(wake)  # the next commit tries again


def delivery_woken() -> None:
    """A woken job begins: commits from now on wake the next one."""
    connection = redis_connection()
    if connection is not None:
        with contextlib.suppress(redis.RedisError):
            connection.delete(_keys()[0])


def committed_ids(count: int) -> list[str]:
    """Up to `count` of the noted ids, oldest first, taken off the list: no other job gets them."""
    connection = redis_connection()
    if connection is None:
        return []
    noted = _keys()[1]
    pipe = connection.pipeline(transaction=True)
    pipe.lrange(noted, 0, count - 1)
    pipe.ltrim(noted, count, -1)
    return [raw.decode() for raw in pipe.execute()[0]]


@job
def deliver_committed_outbox_job() -> dict:
    """Deliver the messages commits noted, woken by them. When more are noted than one job takes,
    the next job is woken before this one ends."""
    from portal.services.mail_delivery import CLAIM_BATCH, PER_JOB, outbox_deliver

    delivery_woken()
    counts: dict[str, int] = {}
    taken = 0
    while taken < PER_JOB:
        ids = committed_ids(min(CLAIM_BATCH, PER_JOB - taken))
        if not ids:
            return counts
        taken += len(ids)
        for outcome, count in outbox_deliver(ids=ids).items():
            counts[outcome] = counts.get(outcome, 0) + count
    delivery_wake()
    return counts


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction itself is still open
        return
    ids = session.info.pop(SESSION_KEY, None)
    if ids and has_app_context() and current_app.config.get("REDIS_URL"):
        delivery_wake(ids)


def _after_rollback(session) -> None:
    session.info.pop(SESSION_KEY, None)


def configure_delivery_enqueue() -> None:
    global _registered
    if _registered:
        return
    sa.event.listen(Session, "after_commit", _after_commit)
    sa.event.listen(Session, "after_rollback", _after_rollback)
    _registered = True
