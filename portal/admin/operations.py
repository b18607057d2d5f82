"""The ops page (ops and admin): run the dispatcher now and follow it, recent runs, schedule."""
from __future__ import annotations

import logging

from flask import current_app, url_for
from flask_login import current_user

from portal import clock
from portal.admin.blueprint import bp
from portal.domain.schedule_words import cron_in_words, next_cron_run, time_until
from portal.extensions import db
from portal.jobs.embedded import embedded_scheduler
from portal.jobs.queue import JobState, QueueUnavailable, enqueue
from portal.jobs.schedule import SCHEDULE
from portal.jobs.tasks import dispatch_recurring_job
from portal.selectors.admin import JOB_AUDIT_ACTIONS, last_audited_runs, recent_job_runs, run_summary
from portal.selectors.jobs import declared_schedule, job_state, registered_schedule
from portal.selectors.outbox import job_runs, outbox_failed
from portal.services.audit import audit_failure, audit_record
from portal.web.rendering import render_page

log = logging.getLogger(__name__)

QUEUE_DOWN = ("The job queue (Redis) is not reachable, so the dispatcher was not started. "
              "Nothing was lost: due series stay due and the next run picks them up. Try again shortly.")


def _last_run(job_id: str, audited: dict, recorded: dict) -> dict | None:
    """A job's last run: for the audited jobs their newest audit row (the history table's source)
    unless a run has started since; for the others the run record."""
    record, row = recorded.get(job_id), audited.get(job_id)
    if record is not None and record.status == "running" and (row is None or record.started_at > row.created_at):
        return {"at": record.started_at, "status": "running", "summary": "Running…", "runner": record.runner}
    if job_id in JOB_AUDIT_ACTIONS:
        if row is None:
            return None
        return {"at": row.created_at, "status": row.status, "summary": run_summary(row.action, row.new_values),
                "runner": record.runner if record is not None else None}
    if record is None:
        return None
    return {"at": record.started_at, "status": record.status, "summary": record.summary, "runner": record.runner}


def _next_words(entry, next_run, runs: bool) -> str:
    if not runs:
        return "not scheduled here"
    if entry.embedded_every and next_run is None:
        return f"every {entry.embedded_every} s in this process"
    now = clock.now()
    return time_until(next_run or next_cron_run(entry.cron, now), now).replace("in ", "next in ", 1)


def _schedule_rows(redis_mode: bool) -> tuple[list[dict], str]:
    """Each scheduled job with who really runs it, when next, and its last run, and one sentence
    saying how the schedule runs on this installation."""
    registered = {entry.id: entry for entry in registered_schedule()}
    embedded = embedded_scheduler(current_app._get_current_object())
    recorded, audited = job_runs(user=current_user), last_audited_runs()
    rows = []
    for entry in SCHEDULE:
        if redis_mode:
            runner = "rq-scheduler" if entry.id in registered else "Nothing yet: rq-scheduler has not registered it"
        elif embedded:
            runner = (f"This process, every {entry.embedded_every} s" if entry.embedded_every
                      else "This process (in-process scheduler)")
        else:
            runner = "Nothing: no scheduler runs in this process"
        next_run = registered[entry.id].next_run if entry.id in registered else None
        runs = redis_mode and entry.id in registered or (not redis_mode and embedded is not None)
        rows.append({"id": entry.id, "func": entry.func_name, "cron": entry.cron, "description": entry.description,
                     "when": cron_in_words(entry.cron), "next_words": _next_words(entry, next_run, runs),
                     "runner": runner, "next_run": next_run, "last": _last_run(entry.id, audited, recorded),
                     "checked": embedded.last_ran.get(entry.id) if embedded and entry.embedded_every else None,
                     "runs": runs})
    if redis_mode:
        how = ("Scheduled jobs run on the RQ workers, enqueued by rq-scheduler (flask rq scheduler)."
               if registered else "Redis is configured but rq-scheduler has registered nothing: start "
               "flask rq scheduler, or no scheduled job runs.")
    elif embedded:
        how = "No Redis: this process runs the schedule itself in a background thread (the in-process scheduler)."
    else:
        how = ("No Redis and no in-process scheduler in this process: scheduled jobs run only if another "
               "process runs them (make run starts one; or run them from cron with the command line).")
    return rows, how


def _page(job: JobState | None = None, *, queue_error: str | None = None, status: int = 200):
    redis_mode = bool(current_app.config.get("REDIS_URL"))
    schedule_rows, schedule_how = _schedule_rows(redis_mode)
    return render_page(
        "admin/ops.html", "job_status", status, job=job, queue_error=queue_error,
        runs=recent_job_runs(limit=20), redis_mode=redis_mode, run_summary=run_summary,
        schedule_rows=schedule_rows, schedule_how=schedule_how, failed_mail=outbox_failed(user=current_user, limit=20),
        schedule=registered_schedule() or declared_schedule(),
        dashboard_url=url_for("rq_dashboard.queues_overview") if "rq_dashboard" in current_app.blueprints else None,
    )


@bp.route("/ops")
def ops_dashboard():
    return _page()


@bp.route("/ops/dispatch", methods=["POST"])
def ops_dispatch():
    """Enqueue the dispatcher (or, with no Redis configured, run it here and now)."""
    try:
        state = enqueue(dispatch_recurring_job, None, job_timeout=3600)
    except QueueUnavailable:
        audit_failure(actor=current_user, action="dispatcher_run_requested", entity_type="job",
                      error="QUEUE_UNAVAILABLE")
        return _page(queue_error=QUEUE_DOWN)  # 200: htmx swaps only 2xx answers
    if state.status == "failed" and not db.session.is_active:
        db.session.rollback()  # an in-process run that failed inside a flush left it unusable
    audit_record(actor=current_user, action="dispatcher_run_requested", entity_type="job",
                 entity_id=state.id, new_values={"status": state.status})
    db.session.commit()
    log.info("dispatcher job %s requested by %s", state.id, current_user.id)
    return _page(state, status=202 if not state.done else 200)


@bp.route("/ops/jobs/<uuid:job_id>")
def ops_job(job_id):
    # RQ names jobs str(uuid4()) and we never pass our own job_id, so the converter fits.
    try:
        state = job_state(str(job_id))
    except QueueUnavailable:
        return _page(JobState(id=str(job_id), status="unknown"), queue_error=(
            "The job queue (Redis) is not reachable right now; the job is safe in Redis "
            "and this page will show it when the queue is back."))
    return _page(state)
