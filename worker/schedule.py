"""Registers the portal's declared schedule (portal.jobs.schedule) with rq-scheduler.

`register_schedule` cancels and re-creates every entry by id, so starting the
scheduler again (a deploy, a restart) never registers a job twice."""
from __future__ import annotations

import logging

from rq_scheduler import Scheduler

from portal.jobs.schedule import SCHEDULE

log = logging.getLogger(__name__)


def register_schedule(scheduler: Scheduler, queue_name: str) -> list[str]:
    """(Re-)register every scheduled job on `queue_name`; returns their ids."""
    for entry in SCHEDULE:
        if entry.id in scheduler:
            scheduler.cancel(entry.id)
        # result_ttl=-1 (the default): rq-scheduler reuses one job key, and an
        # expiring result would silently drop the schedule.
        scheduler.cron(entry.cron, func=entry.func, id=entry.id, queue_name=queue_name,
                       description=entry.description, result_ttl=-1, use_local_timezone=False)
        log.info("scheduled %s (%s) on queue %s", entry.id, entry.cron, queue_name)
    return [entry.id for entry in SCHEDULE]


def scheduled_jobs(scheduler: Scheduler) -> list[tuple[str, object]]:
    """(id, next run time) of the registered jobs, for the ops page and the CLI."""
    return [(job.id, when) for job, when in scheduler.get_jobs(with_times=True)]
