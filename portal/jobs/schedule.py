"""The schedule: one declarative list of periodic jobs with stable ids.

Jobs are named by dotted path, so the web app can show the schedule without
importing the worker; `worker.schedule` registers this list with rq-scheduler.
Cron strings are UTC: run the scheduler and the workers with TZ=UTC."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    cron: str
    func: str
    description: str
    # The in-process scheduler of the embedded default (no Redis) runs this job every this many
    # seconds instead of on the cron times (None: on the cron times, like rq-scheduler).
    embedded_every: int | None = None


DISPATCH_RECURRING = "worker.jobs.dispatch_recurring_job"
CLEANUP_RECORDINGS = "worker.jobs.cleanup_recordings_job"
EXPIRE_ENROLMENTS = "worker.jobs.expire_enrolments_job"
DELIVER_OUTBOX = "worker.jobs.deliver_outbox_job"
QUEUE_REMINDERS = "worker.jobs.queue_reminders_job"

SCHEDULE = (
    ScheduledJob("recurring-dispatch", "0 2 * * *", DISPATCH_RECURRING,
                 "Book the due occurrences of recurring series (daily, 02:00 UTC)"),
    ScheduledJob("recordings-cleanup", "0 3 * * *", CLEANUP_RECORDINGS,
                 "Delete meeting recordings past their expiry (daily, 03:00 UTC)"),
    ScheduledJob("package-enrolments-expiry", "10 0 * * *", EXPIRE_ENROLMENTS,
                 "Expire package enrolments after their last day; e-mail a notice 7 days ahead (daily, 00:10 UTC)"),
    ScheduledJob("booking-reminders", "*/15 * * * *", QUEUE_REMINDERS,
                 "Write the reminders due before upcoming sessions (every 15 minutes)"),
    # With Redis each committed message is also enqueued at once; this sweep takes the retries.
    ScheduledJob("outbox-delivery", "* * * * *", DELIVER_OUTBOX,
                 "Deliver waiting e-mail and retry failed tries (every minute)", embedded_every=5),
)
