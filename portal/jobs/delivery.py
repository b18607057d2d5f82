"""Starting delivery when outbox rows are committed.

With Redis, the ids that a transaction wrote (portal.services.outbox.note_new) are enqueued as one
`deliver_outbox_job` right after the commit, so mail goes out within seconds and the request never
waits on SMTP. Without Redis nothing is enqueued (the inline queue would deliver inside the
request): the in-process scheduler (portal.jobs.embedded) picks the rows up within seconds."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session

from portal.jobs.queue import QueueUnavailable, enqueue
from portal.jobs.tasks import deliver_outbox_job
from portal.services.outbox import SESSION_KEY

log = logging.getLogger(__name__)
_registered = False


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction itself is still open
        return
    ids = session.info.pop(SESSION_KEY, None)
    if not ids or not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    try:
        enqueue(deliver_outbox_job, ids)
    except QueueUnavailable:
        log.warning("outbox: could not enqueue delivery of %s messages; the minute sweep will send them", len(ids))


def _after_rollback(session) -> None:
    session.info.pop(SESSION_KEY, None)


def configure_delivery_enqueue() -> None:
    global _registered
    if _registered:
        return
    sa.event.listen(Session, "after_commit", _after_commit)
    sa.event.listen(Session, "after_rollback", _after_rollback)
    _registered = True
