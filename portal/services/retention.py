"""Clinical record retention: an erased patient's notes and booking history are kept, detached from
their identity, for CLINICAL_RECORD_RETENTION_YEARS after their last session; the nightly job
deletes them after that (with their access log, which is never deleted before the records)."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.extensions import db
from portal.models import (
    Booking,
    BookingCancellation,
    BookingStatusHistory,
    ErasureRequest,
    MeetingRecording,
    PackageEnrolment,
    RecordAccess,
    RecurringBooking,
    SessionNote,
    SessionNoteAmendment,
)
from portal.services.audit import audit_record
from portal.services.erasure import StoredLeftovers, erasure_delete_stored

log = logging.getLogger(__name__)


def years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none: the day before
        return moment.replace(year=moment.year + years, day=28)


def retention_ends(patient_id: uuid.UUID, erased_at: datetime) -> datetime:
    """When the kept records of an erased patient may go: the retention years after the end of their
    last session that was not cancelled (after the erasure, for a patient who never had one)."""
    last = db.session.scalar(sa.select(sa.func.max(Booking.ends_at)).where(
        Booking.patient_id == patient_id, Booking.status != "cancelled"))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=erased_at.tzinfo)
    return years_after(last or erased_at, current_app.config["CLINICAL_RECORD_RETENTION_YEARS"])


def clinical_records_delete(*, patient_id: uuid.UUID, leftovers: StoredLeftovers) -> dict:
    """Delete one patient's notes, recordings, access log and booking history. Flushes."""
    bookings = sa.select(Booking.id).where(Booking.patient_id == patient_id).scalar_subquery()
    notes = sa.select(SessionNote.id).where(SessionNote.booking_id.in_(bookings)).scalar_subquery()
    leftovers.storage_keys.extend(db.session.scalars(
        sa.select(MeetingRecording.storage_path).where(MeetingRecording.booking_id.in_(bookings))))
    counts = {}
    for name, statement in (
        ("amendments", sa.delete(SessionNoteAmendment).where(SessionNoteAmendment.note_id.in_(notes))),
        ("notes", sa.delete(SessionNote).where(SessionNote.booking_id.in_(bookings))),
        ("recordings", sa.delete(MeetingRecording).where(MeetingRecording.booking_id.in_(bookings))),
        ("access_rows", sa.delete(RecordAccess).where(RecordAccess.patient_id == patient_id)),
        ("status_history", sa.delete(BookingStatusHistory).where(BookingStatusHistory.booking_id.in_(bookings))),
        ("cancellations", sa.delete(BookingCancellation).where(BookingCancellation.booking_id.in_(bookings))),
        ("bookings", sa.delete(Booking).where(Booking.patient_id == patient_id)),
        ("series", sa.delete(RecurringBooking).where(RecurringBooking.user_id == patient_id)),
        ("enrolments", sa.delete(PackageEnrolment).where(PackageEnrolment.patient_id == patient_id)),
    ):
        counts[name] = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    db.session.expire_all()
    return counts


def clinical_records_expire(*, now: datetime | None = None) -> dict:
    """The nightly job: each erased patient whose retention has ended, in a transaction of its own
    (a failure is rolled back, counted, and the others go on). Commits, and audits the run."""
    now = now or clock.now()
    erased = db.session.execute(sa.select(ErasureRequest.id, ErasureRequest.patient_id, ErasureRequest.decided_at)
                                .where(ErasureRequest.status == "carried_out",
                                       ErasureRequest.records_deleted_at.is_(None))
                                .order_by(ErasureRequest.decided_at)).all()
    result = {"checked": len(erased), "deleted": 0, "errors": 0}
    for request_id, patient_id, decided_at in erased:
        if retention_ends(patient_id, decided_at) > now:
            continue
        outcome = _expire_one(request_id, patient_id, now)
        result["deleted" if outcome else "errors"] += 1
    audit_record(actor=None, action="clinical_records_expired", entity_type="user", new_values=result,
                 status="success_with_errors" if result["errors"] else "success")
    db.session.commit()
    return result


def _expire_one(request_id: uuid.UUID, patient_id: uuid.UUID, now: datetime) -> bool:
    leftovers = StoredLeftovers()
    try:
        counts = clinical_records_delete(patient_id=patient_id, leftovers=leftovers)
        db.session.execute(sa.update(ErasureRequest).where(ErasureRequest.id == request_id)
                           .values(records_deleted_at=now))
        audit_record(actor=None, action="clinical_records_deleted", entity_type="user", entity_id=patient_id,
                     new_values={"request_id": request_id, **counts})
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("retention: the records of %s could not be deleted", patient_id)
        return False
    erasure_delete_stored(leftovers)
    log.info("retention: the kept records of %s deleted", patient_id)
    return True
