"""`flask rq worker` runs e-mail deliveries in its own process and every other job in a fork."""
from __future__ import annotations

import os
import uuid

from worker.rq_worker import PortalWorker


def process_id() -> int:
    return os.getpid()


def also_process_id() -> int:
    return os.getpid()


class WorkerForTheTest(PortalWorker):
    in_process = frozenset({f"{__name__}.process_id"})


def test_deliveries_run_in_the_worker_and_other_jobs_in_a_fork(_app, redis_url):
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(redis_url)
    queue = Queue(f"test-worker-{uuid.uuid4().hex[:8]}", connection=connection)
    try:
        inline = queue.enqueue(f"{__name__}.process_id")
        forked = queue.enqueue(f"{__name__}.also_process_id")
        with _app.app_context():
            WorkerForTheTest([queue], connection=connection).work(burst=True)
        assert inline.return_value(refresh=True) == os.getpid()
        assert forked.return_value(refresh=True) not in (None, os.getpid())
    finally:
        queue.delete(delete_jobs=True)


def test_the_deliveries_are_the_ones_run_in_process():
    assert PortalWorker.in_process == {"worker.jobs.deliver_outbox_job"}
