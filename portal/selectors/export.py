"""The person's data, as one JSON-ready document: "download my data".

The document is a list of sections, each one function of the patient that returns what the
patient may see of one kind of record (EXPORT_SECTIONS: intake answers and consents join as
sections of their own). Other people appear by name and role only: no other patient's data,
no specialist's private details (their e-mail, their reasons for being away, their notes
about anyone else)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import (
    Booking,
    BookingStatusHistory,
    Consent,
    ErasureRequest,
    IntakeForm,
    IntakeResponse,
    MeetingRecording,
    PackageEnrolment,
    RecordAccess,
    RecurringBooking,
    SessionNote,
    User,
)

EXPORT_FORMAT = "clinic-portal-export/1"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value) if value is not None and not isinstance(value, str | int | float | bool) else value


def who(patient: User, user_id, booking: Booking | None = None) -> str:
    """How another person reads in the patient's own record."""
    if user_id is None:
        return "the clinic (automatic)"
    if user_id == patient.id:
        return "you"
    if booking is not None and user_id == booking.specialist_id:
        return "your specialist"
    return "the clinic"


def _profile(patient: User) -> dict:
    return {"id": patient.id, "display_name": patient.display_name, "email": patient.email,
            "role": patient.role, "timezone": patient.timezone, "reminders_enabled": patient.reminders_enabled,
            "email_confirmed_at": patient.email_confirmed_at, "created_at": patient.created_at}


def _bookings(patient: User) -> list[dict]:
    bookings = db.session.scalars(
        sa.select(Booking).where(Booking.patient_id == patient.id)
        .options(selectinload(Booking.specialist_user), selectinload(Booking.cancellation))
        .order_by(Booking.starts_at, Booking.id)).all()
    history: dict = {}
    for row in db.session.scalars(sa.select(BookingStatusHistory).where(
            BookingStatusHistory.booking_id.in_([b.id for b in bookings]))
            .order_by(BookingStatusHistory.created_at, BookingStatusHistory.id)):
        history.setdefault(row.booking_id, []).append(row)
    return [_booking(patient, booking, history.get(booking.id, [])) for booking in bookings]


def _booking(patient: User, booking: Booking, history: list) -> dict:
    cancellation = booking.cancellation
    return {
        "id": booking.id, "starts_at": booking.starts_at, "ends_at": booking.ends_at, "status": booking.status,
        "specialist": booking.specialist_user.display_name, "price": booking.price, "currency": booking.currency,
        "series_id": booking.recurring_booking_id, "package_enrolment_id": booking.package_enrolment_id,
        "created_at": booking.created_at,
        "cancellation": None if cancellation is None else {
            "cancelled_at": cancellation.created_at, "cancelled_by": who(patient, cancellation.cancelled_by, booking),
            "reason": cancellation.reason, "is_late": cancellation.is_late,
            "policy": cancellation.cancellation_policy_applied},
        "status_history": [{"from": row.from_status, "to": row.to_status, "at": row.created_at,
                            "by": who(patient, row.changed_by, booking)} for row in history],
    }


def _series(patient: User) -> list[dict]:
    rows = db.session.scalars(sa.select(RecurringBooking).where(RecurringBooking.user_id == patient.id)
                              .options(selectinload(RecurringBooking.specialist_user))
                              .order_by(RecurringBooking.created_at, RecurringBooking.id))
    return [{"id": s.id, "specialist": s.specialist_user.display_name, "frequency": s.frequency,
             "start_date": s.start_date, "end_date": s.end_date, "time_of_day": s.time_of_day,
             "is_active": s.is_active, "paused_at": s.paused_at, "created_at": s.created_at} for s in rows]


def _enrolments(patient: User) -> list[dict]:
    rows = db.session.scalars(sa.select(PackageEnrolment).where(PackageEnrolment.patient_id == patient.id)
                              .order_by(PackageEnrolment.created_at, PackageEnrolment.id))
    return [{"id": e.id, "package_name": e.package_name, "status": e.status, "credits_total": e.credits_total,
             "credits_used": e.credits_used, "price": e.price, "currency": e.currency,
             "discount_percentage": e.discount_percentage, "paid_at": e.paid_at, "starts_on": e.starts_on,
             "expires_on": e.expires_on, "created_at": e.created_at} for e in rows]


def _notes(patient: User) -> list[dict]:
    """The notes written about the patient's sessions, as the booking page shows them to the patient."""
    notes = db.session.scalars(
        sa.select(SessionNote).join(Booking, Booking.id == SessionNote.booking_id)
        .where(Booking.patient_id == patient.id)
        .options(selectinload(SessionNote.amendments), selectinload(SessionNote.booking))
        .order_by(SessionNote.created_at, SessionNote.id)).all()
    authors = _names({note.provider_id for note in notes})
    return [{"id": note.id, "booking_id": note.booking_id, "session_starts_at": note.booking.starts_at,
             "written_by": authors.get(note.provider_id), "written_at": note.created_at,
             "updated_at": note.updated_at, "notes": note.notes, "follow_up_actions": note.follow_up_actions,
             "next_session_recommendation": note.next_session_recommendation, "details": dict(note.metadata_ or {}),
             "amendments": [{"text": a.text, "written_at": a.created_at} for a in note.amendments]}
            for note in notes]


def _names(user_ids: set) -> dict:
    if not user_ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(user_ids))).all())


def _recordings(patient: User) -> list[dict]:
    rows = db.session.scalars(
        sa.select(MeetingRecording).join(Booking, Booking.id == MeetingRecording.booking_id)
        .where(Booking.patient_id == patient.id).order_by(MeetingRecording.created_at, MeetingRecording.id))
    return [{"id": r.id, "booking_id": r.booking_id, "file_format": r.file_format,
             "duration_seconds": r.duration_seconds, "size_bytes": r.storage_size_bytes,
             "created_at": r.created_at, "expires_at": r.expires_at} for r in rows]


def _access_log(patient: User) -> list[dict]:
    rows = db.session.scalars(sa.select(RecordAccess).where(RecordAccess.patient_id == patient.id)
                              .options(selectinload(RecordAccess.reader))
                              .order_by(RecordAccess.accessed_at, RecordAccess.id))
    return [{"reader": row.reader.display_name if row.reader else None, "reader_role": row.reader_role,
             "record_type": row.record_type, "record_id": row.record_id, "booking_id": row.booking_id,
             "accessed_at": row.accessed_at} for row in rows]


def _erasure_requests(patient: User) -> list[dict]:
    rows = db.session.scalars(sa.select(ErasureRequest).where(ErasureRequest.patient_id == patient.id)
                              .order_by(ErasureRequest.requested_at, ErasureRequest.id))
    return [{"id": r.id, "status": r.status, "requested_at": r.requested_at, "decided_at": r.decided_at,
             "refusal_reason": r.refusal_reason} for r in rows]


def _intake_answers(patient: User) -> list[dict]:
    """Each questionnaire the patient answered, the questions beside the answers."""
    rows = db.session.scalars(sa.select(IntakeResponse).where(IntakeResponse.patient_id == patient.id)
                              .order_by(IntakeResponse.submitted_at, IntakeResponse.id)).all()
    names = _names({row.specialist_id for row in rows})
    forms = {form.specialist_id: form.questions for form in db.session.scalars(
        sa.select(IntakeForm).where(IntakeForm.specialist_id.in_([row.specialist_id for row in rows])))}
    return [{"specialist": names.get(row.specialist_id), "submitted_at": row.submitted_at,
             "answers": [{"question": q["label"], "answer": row.answers.get(q["id"])}
                         for q in forms.get(row.specialist_id, []) if q["id"] in row.answers]}
            for row in rows]


def _consents(patient: User) -> list[dict]:
    rows = db.session.scalars(sa.select(Consent).where(Consent.patient_id == patient.id)
                              .order_by(Consent.given_at, Consent.id)).all()
    names = _names({row.specialist_id for row in rows if row.specialist_id})
    return [{"kind": row.kind, "specialist": names.get(row.specialist_id), "terms_version": row.terms_version,
             "given_at": row.given_at, "withdrawn_at": row.withdrawn_at} for row in rows]


# (key, builder): one section of the document each, in this order.
EXPORT_SECTIONS: list[tuple[str, Callable[[User], Any]]] = [
    ("profile", _profile),
    ("bookings", _bookings),
    ("series", _series),
    ("package_enrolments", _enrolments),
    ("session_notes", _notes),
    ("recordings", _recordings),
    ("access_log", _access_log),
    ("erasure_requests", _erasure_requests),
    ("intake_answers", _intake_answers),
    ("consents", _consents),
]


def export_document(*, patient: User, generated_at: datetime) -> dict:
    """The whole document for `patient`, every value plain JSON."""
    document: dict[str, Any] = {"format": EXPORT_FORMAT, "generated_at": generated_at}
    for key, build in EXPORT_SECTIONS:
        document[key] = build(patient)
    return _plain(document)
