"""RQ jobs: thin wrappers that open an app context, call a service, commit.

Jobs take plain values (ids, ISO dates), never ORM objects."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date

from flask import current_app, has_app_context

log = logging.getLogger(__name__)


@contextmanager
def app_context():
    """Reuse the caller's app (in-process mode) or build one (worker process)."""
    if has_app_context():
        yield current_app._get_current_object()
        return
    from portal import create_app

    app = create_app()
    with app.app_context():
        yield app


def dispatch_recurring_job(run_date: str | None = None) -> dict:
    """The daily recurring-bookings dispatcher (portal.services.recurring)."""
    from portal.services.recurring import recurring_dispatch

    with app_context():
        result = recurring_dispatch(run_date=date.fromisoformat(run_date) if run_date else None)
        log.info("dispatcher: %s bookings, %s errors", result["count"], len(result["errors"]))
        return result


def cleanup_recordings_job() -> dict:
    """Delete recordings past their expires_at (portal.services.recordings)."""
    from portal.services.recordings import recordings_cleanup

    with app_context():
        result = recordings_cleanup()
        log.info("recording clean-up: %s", result)
        return result


def expire_enrolments_job(today: str | None = None) -> dict:
    """Package enrolments past expires_on become expired (portal.services.enrolments)."""
    from portal.extensions import db
    from portal.services.enrolments import enrolments_expire

    with app_context():
        expired = enrolments_expire(today=date.fromisoformat(today) if today else None)
        db.session.commit()
        return {"expired": expired}
