"""Reading background jobs for the ops page: a job's state, the registered schedule."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from portal.jobs.queue import JobState, QueueUnavailable, redis_connection
from portal.jobs.schedule import SCHEDULE

log = logging.getLogger(__name__)


@dataclass
class ScheduledJob:
    id: str
    func: str
    cron: str | None
    next_run: datetime | None = None
    extra: dict = field(default_factory=dict)


def _last_line(text: str | None) -> str | None:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def job_state_of(job: Job) -> JobState:
    status = str(getattr(job.get_status(refresh=False), "value", job.get_status(refresh=False)))
    state = JobState(id=job.id, status=status)
    if status == "finished":
        value = job.return_value()
        state.result = value if isinstance(value, dict) else {"message": str(value)}
    elif status == "failed":
        result = job.latest_result()
        state.error = _last_line(getattr(result, "exc_string", None) or job.exc_info) or "The job failed."
    return state


def job_state(job_id: str) -> JobState:
    """The state of a queued job; QueueUnavailable when Redis does not answer."""
    connection = redis_connection()
    if connection is None:  # in-process jobs leave nothing behind to look up
        return JobState(id=job_id, status="missing")
    try:
        job = Job.fetch(job_id, connection=connection)
        job.get_status(refresh=True)
        return job_state_of(job)
    except NoSuchJobError:
        return JobState(id=job_id, status="missing")
    except redis.RedisError as error:
        raise QueueUnavailable("The job queue (Redis) is not reachable.") from error


def registered_schedule() -> list[ScheduledJob]:
    """The cron entries rq-scheduler holds in Redis (empty without Redis or when it is down)."""
    connection = redis_connection()
    if connection is None:
        return []
    from rq_scheduler import Scheduler

    try:
        entries = Scheduler(connection=connection).get_jobs(with_times=True)
        return [ScheduledJob(id=job.id, func=job.func_name, cron=job.meta.get("cron_string"),
                             next_run=when) for job, when in entries]
    except redis.RedisError as error:
        log.warning("could not read the schedule: %s", type(error).__name__)
        return []


def declared_schedule() -> list[ScheduledJob]:
    """The schedule the portal declares (portal.jobs.schedule), for when Redis holds none."""
    return [ScheduledJob(id=entry.id, cron=entry.cron, func=entry.func_name)
            for entry in SCHEDULE]
