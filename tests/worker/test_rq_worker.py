"""`flask rq worker` runs e-mail deliveries in its own process and every other job in a fork."""
from __future__ import annotations

import os
import uuid

import worker.jobs
from worker.rq_worker import PortalWorker


def _process_id(*_args) -> int:
    return os.getpid()


def test_deliveries_run_in_the_worker_and_other_jobs_in_a_fork(_app, redis_url, monkeypatch):
    """The real jobs' names, each answering the process it ran in (a fork inherits the patch)."""
    import redis
    from rq import Queue

    monkeypatch.setattr(worker.jobs, "deliver_outbox_job", _process_id)
    monkeypatch.setattr(worker.jobs, "queue_reminders_job", _process_id)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(f"test-worker-{uuid.uuid4().hex[:8]}", connection=connection)
    try:
        delivery = queue.enqueue("worker.jobs.deliver_outbox_job", ["an-id"])
        reminders = queue.enqueue("worker.jobs.queue_reminders_job")
        with _app.app_context():
            PortalWorker([queue], connection=connection).work(burst=True)
        assert delivery.return_value(refresh=True) == os.getpid()
        assert reminders.return_value(refresh=True) not in (None, os.getpid())
    finally:
        queue.delete(delete_jobs=True)
