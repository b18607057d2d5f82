"""The schedule: one declarative list of periodic jobs with stable ids, and its registration
with rq-scheduler.

`register_schedule` cancels and re-creates every entry by id, so starting the scheduler again
(a deploy, a restart) never registers a job twice. Cron strings are UTC: run the scheduler and
the workers with TZ=UTC."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal.jobs import tasks

if TYPE_CHECKING:
    from rq_scheduler import Scheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    cron: str
    func: Callable[[], object]
    description: str
    # The in-process scheduler of the embedded default (no Redis) runs this job every this many
    # seconds instead of on the cron times (None: on the cron times, like rq-scheduler).
    embedded_every: int | None = None

    @property
    def func_name(self) -> str:
        """The dotted name RQ stores for the job."""
        return job_name(self.func)


def job_name(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


SCHEDULE = (
    ScheduledJob("recurring-dispatch", "0 2 * * *", tasks.dispatch_recurring_job,
                 "Book the due occurrences of recurring series (daily, 02:00 UTC)"),
    ScheduledJob("recordings-cleanup", "0 3 * * *", tasks.cleanup_recordings_job,
                 "Delete meeting recordings past their expiry (daily, 03:00 UTC)"),
    ScheduledJob("clinical-records-retention", "30 3 * * *", tasks.expire_clinical_records_job,
                 "Delete erased patients' clinical records past their retention (daily, 03:30 UTC)"),
    ScheduledJob("package-enrolments-expiry", "10 0 * * *", tasks.expire_enrolments_job,
                 "Expire package enrolments after their last day; e-mail a notice 7 days ahead (daily, 00:10 UTC)"),
    ScheduledJob("complete-past-sessions", "30 1 * * *", tasks.complete_past_sessions_job,
                 "Mark the sessions that ended AUTO_COMPLETE_HOURS ago completed (daily, 01:30 UTC)"),
    ScheduledJob("booking-reminders", "*/15 * * * *", tasks.queue_reminders_job,
                 "Write the reminders due before upcoming sessions (every 15 minutes)"),
    # With Redis a commit that writes mail also wakes a delivery job at once; this sweep takes the retries.
    ScheduledJob("outbox-delivery", "* * * * *", tasks.deliver_outbox_job,
                 "Deliver waiting e-mail and retry failed tries (every minute)", embedded_every=5),
)


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
    """(id, next run time) of the registered jobs, for the CLI and its tests."""
    return [(job.id, when) for job, when in scheduler.get_jobs(with_times=True)]
