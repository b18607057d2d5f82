"""`flask rq worker` runs e-mail deliveries in its own process and every other job in a fork."""
from __future__ import annotations

import os
import uuid

from portal.jobs import delivery as delivery_jobs
from portal.jobs import tasks
from portal.jobs.worker import PortalWorker


def _process_id(*_args) -> int:
    return os.getpid()


def test_deliveries_run_in_the_worker_and_other_jobs_in_a_fork(_app, redis_url, monkeypatch):
    """The real jobs, enqueued by name, each answering the process it ran in (a fork inherits the patch)."""
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(redis_url)
    queue = Queue(f"test-worker-{uuid.uuid4().hex[:8]}", connection=connection)
    try:
        delivery = queue.enqueue(tasks.deliver_outbox_job, ["an-id"])
        woken = queue.enqueue(delivery_jobs.deliver_committed_outbox_job)
        reminders = queue.enqueue(tasks.queue_reminders_job)
        assert [job.func_name for job in (delivery, woken, reminders)] == [
            "portal.jobs.tasks.deliver_outbox_job", "portal.jobs.delivery.deliver_committed_outbox_job",
            "portal.jobs.tasks.queue_reminders_job"]
        monkeypatch.setattr(tasks, "deliver_outbox_job", _process_id)
        monkeypatch.setattr(delivery_jobs, "deliver_committed_outbox_job", _process_id)
        monkeypatch.setattr(tasks, "queue_reminders_job", _process_id)
        with _app.app_context():
            PortalWorker([queue], connection=connection).work(burst=True)
        assert delivery.return_value(refresh=True) == os.getpid()
        assert woken.return_value(refresh=True) == os.getpid()
        assert reminders.return_value(refresh=True) not in (None, os.getpid())
    finally:
        queue.delete(delete_jobs=True)
