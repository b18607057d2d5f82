"""The jobs: thin wrappers that call a service, commit and log.

Jobs take plain values (ids, ISO dates), never ORM objects. They run inside the app context of
whoever runs them: `flask rq worker` (its forks inherit the command's context), the in-process
scheduler, or the request or command that calls one directly when there is no Redis."""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from datetime import date

from flask import current_app

from portal.models.row_security import as_owner
from portal.models.transactions import intent_to_write

log = logging.getLogger(__name__)


def job(func):
    """A job writes: its transactions take SQLite's write lock when they begin, so it queues
    behind the web's writers instead of failing (portal.models.transactions). It is the system's
    work, for everyone: on PostgreSQL it runs as the schema's owner, every row in reach, also
    when a request calls it directly (portal.models.row_security)."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        with intent_to_write(), as_owner():
            return func(*args, **kwargs)

    return run


@contextmanager
def recorded(job_id: str):
    """Record the run of the scheduled job `job_id` (portal.models.JobRun) for the operations page."""
    from portal.services.job_runs import job_run_finished, job_run_started

    job_run_started(job_id=job_id, runner=_runner())
    try:
        yield
    except BaseException as error:
        job_run_finished(job_id=job_id, status="failure", summary=type(error).__name__)
        raise
    job_run_finished(job_id=job_id, status="success")


def _runner() -> str:
    return "rq" if current_app.config.get("REDIS_URL") else "embedded"


@job
def dispatch_recurring_job(run_date: str | None = None) -> dict:
    """The daily recurring-bookings dispatcher (portal.services.recurring)."""
    from portal.services.recurring import recurring_dispatch

    with recorded("recurring-dispatch"):
        result = recurring_dispatch(run_date=date.fromisoformat(run_date) if run_date else None)
        log.info("dispatcher: %s bookings, %s errors", result["count"], len(result["errors"]))
        return result


@job
def cleanup_recordings_job() -> dict:
    """Delete recordings past their expires_at (portal.services.recordings)."""
    from portal.services.recordings.cleanup import recordings_cleanup

    with recorded("recordings-cleanup"):
        result = recordings_cleanup()
        log.info("recording clean-up: %s", result)
        return result


@job
def expire_clinical_records_job() -> dict:
    """Delete the kept clinical records of erased patients whose retention has ended
    (portal.services.retention)."""
    from portal.services.retention import clinical_records_expire

    with recorded("clinical-records-retention"):
        result = clinical_records_expire()
        log.info("clinical record retention: %s", result)
        return result


@job
def expire_enrolments_job(today: str | None = None) -> dict:
    """Package enrolments past expires_on become expired, and those about to expire with sessions left
    get their e-mail notice (portal.services.enrolments)."""
    from portal.extensions import db
    from portal.services.enrolments import enrolments_expire, enrolments_send_expiry_notices

    with recorded("package-enrolments-expiry"):
        day = date.fromisoformat(today) if today else None
        expired = enrolments_expire(today=day)
        notices = enrolments_send_expiry_notices(today=day)
        db.session.commit()
        return {"expired": expired, "expiry_notices": notices}


@job
def deliver_outbox_job(ids: list[str] | None = None) -> dict:
    """Deliver due outbox messages (only `ids`, when given), after recovering interrupted ones:
    the minute sweep."""
    from portal import clock
    from portal.services.job_runs import job_run_record
    from portal.services.mail_delivery import outbox_deliver

    if ids is not None:
        return outbox_deliver(ids=ids)
    started = clock.now()
    result = outbox_deliver()
    if result:  # an idle sweep writes nothing (it runs every few seconds without Redis)
        job_run_record(job_id="outbox-delivery", runner=_runner(), started_at=started, status="success",
                       summary=", ".join(f"{count} {outcome}" for outcome, count in sorted(result.items())))
    return result


@job
def queue_reminders_job() -> dict:
    """Write the reminders now due (portal.services.reminders); delivery sends them."""
    from portal.extensions import db
    from portal.services.reminders import reminders_queue

    with recorded("booking-reminders"):
        count = reminders_queue()
        db.session.commit()
        log.info("reminders: %s written", count)
        return {"count": count}


@job
def complete_past_sessions_job() -> dict:
    """Confirmed sessions that ended AUTO_COMPLETE_HOURS ago become completed (portal.services.attendance)."""
    from portal.extensions import db
    from portal.services.attendance import bookings_complete_past

    with recorded("complete-past-sessions"):
        count = bookings_complete_past()
        db.session.commit()
        return {"count": count}
