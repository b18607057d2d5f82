"""The RQ worker class `flask rq worker` runs: a work horse (fork) per job, except e-mail deliveries.

RQ's default worker forks a work horse for every job, so a job's crash, leak or timeout stays in
its fork. That is worth it for the scheduled jobs (the dispatcher books 100,000 sessions in one
run and grows to its size; a clean-up talks to object storage), but not for the outbox deliveries:
commits that write mail wake them all day, they are small and short, and the fork,
its copy-on-write faults and its new database connection cost more than the delivery itself (in
the Monday-morning load test a forking worker used 13.5 ms of CPU per web request, over a quarter of
two cores). So deliveries run in the worker's own process, on its connection pool, under the same
job timeout (SIGALRM, as RQ's SimpleWorker does); everything else still gets its fork.
"""
from __future__ import annotations

from rq import Worker
from rq.worker import WorkerStatus

from portal.jobs.delivery import deliver_committed_outbox_job
from portal.jobs.schedule import job_name
from portal.jobs.tasks import deliver_outbox_job


class PortalWorker(Worker):
    in_process = frozenset({job_name(deliver_outbox_job), job_name(deliver_committed_outbox_job)})

    def execute_job(self, job, queue):
        from portal.extensions import db

        if job.func_name not in self.in_process:
            # A fork must not inherit this process's open database connections (two processes
            # on one socket): close them; the next in-process job opens new ones.
            db.engine.dispose()
            return super().execute_job(job, queue)
        self.prepare_execution(job)
        try:
            self.perform_job(job, queue)
        finally:
            db.session.remove()  # the next job starts with an empty session, as a fresh fork would
        self.set_state(WorkerStatus.IDLE)
