"""Every scheduled job declares that it writes, so on SQLite its transactions take the write lock
when they begin and queue behind the web's writers instead of failing."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from portal.extensions import db
from portal.jobs.schedule import SCHEDULE
from portal.web.transactions import may_write


def test_every_scheduled_job_begins_its_transactions_as_a_writer(committed_db):
    begun: dict[str, list[bool]] = {}
    current: list[str] = []

    def record(_connection):
        # The dispatcher's read-ahead on PostgreSQL reads on a thread of its own: only the job's
        # own thread writes.
        if threading.get_ident() == job_thread:
            begun.setdefault(current[-1], []).append(may_write())

    job_thread = threading.get_ident()

    db.session.remove()
    sa.event.listen(db.engine, "begin", record)
    try:
        for entry in SCHEDULE:
            current.append(entry.id)
            entry.func()
            db.session.remove()
    finally:
        sa.event.remove(db.engine, "begin", record)
    assert set(begun) == {entry.id for entry in SCHEDULE}, "each job used the database"
    assert all(all(writer) for writer in begun.values()), begun
    assert may_write() is False, "the test itself reads as before"
