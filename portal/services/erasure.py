"""A patient's request to be forgotten: asked by the patient, refused (with a reason the patient
sees) or carried out by an admin.

Carrying one out is one transaction for the person, plus the deletion of stored objects after
it commits (a rolled-back erasure must not have lost its recordings): future bookings cancelled
by the clinic (mails as usual), series ended, sessions and tokens revoked, recordings, intake
answers and consents deleted, stored mails emptied, name and e-mail replaced, sign-in made
impossible. Clinical notes and the booking history stay, under the replaced name, until the
retention job (portal.services.retention) deletes them. Staff accounts are deactivated, never
erased (their notes stay authored)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import clock, policies
from portal.domain.inputs import MAX_REASON, text_problem
from portal.errors import Conflict, Forbidden, ServiceError
from portal.extensions import db
from portal.models import (
    ACTIVE_STATUSES,
    AuditLog,
    Booking,
    Consent,
    ErasureRequest,
    IntakeResponse,
    MeetingRecording,
    Outbox,
    RecordingAccessCode,
    RecurringBooking,
    Role,
    User,
)
from portal.services.audit import audit_record
from portal.services.users import api_tokens_revoke_all, user_end_sessions

log = logging.getLogger(__name__)

ERASURE_CANCEL_REASON = "The clinic closed this account at the patient's request."
ERASED = "[erased]"


class ErasurePending(Conflict):
    code = "ERASURE_PENDING"


class ErasureDecided(Conflict):
    code = "ERASURE_DECIDED"


@dataclass
class StoredLeftovers:
    """What the erasure leaves to delete once it has committed: recording objects (their storage
    keys) and development mail files (their outbox ids)."""

    storage_keys: list[str] = field(default_factory=list)
    outbox_ids: list[str] = field(default_factory=list)


def former_name(user: User) -> str:
    return f"Former patient #{user.id.hex[:8]}"


def erasure_request_create(*, actor: User) -> ErasureRequest:
    """The patient asks to be forgotten; one pending request at a time."""
    if actor.role != Role.PATIENT:
        raise Forbidden("Staff accounts are deactivated by an administrator, not erased.", code="STAFF_NOT_ERASED")
    request = ErasureRequest(patient_id=actor.id, status="pending")
    if not policies.can("create", actor, request):
        raise Forbidden("You may only ask for your own erasure.")
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError as error:  # the unique pending index: one is waiting already
        raise ErasurePending("Your erasure request is already waiting for the clinic.") from error
    audit_record(actor=actor, action="erasure_requested", entity_type="erasure_request", entity_id=request.id,
                 new_values={"patient_id": actor.id})
    log.info("erasure requested by %s (request %s)", actor.id, request.id)
    return request


def _pending(actor: User, request_id: Any) -> ErasureRequest:
    request = policies.load(ErasureRequest, request_id, actor, action="update", missing="No such erasure request.",
                            refused="Only administrators decide erasure requests.", lock=True)
    if request.status != "pending":
        raise ErasureDecided(f"This request was already {request.status.replace('_', ' ')}.")
    return request


def _decide(actor: User, request: ErasureRequest, status: str) -> None:
    request.status, request.decided_at, request.decided_by = status, clock.now(), actor.id


def erasure_request_refuse(*, actor: User, request_id: Any, reason: Any) -> ErasureRequest:
    """Refuse with a reason the patient reads on their account page (kept out of the audit row)."""
    request = _pending(actor, request_id)
    text = reason.strip() if isinstance(reason, str) else reason
    problem = "Write the reason the patient will read." if not text else text_problem(
        text, max_length=MAX_REASON, multiline=True)
    if problem:
        raise ServiceError("Please give a reason.", fields={"reason": problem})
    _decide(actor, request, "refused")
    request.refusal_reason = text
    db.session.flush()
    audit_record(actor=actor, action="erasure_refused", entity_type="erasure_request", entity_id=request.id,
                 new_values={"patient_id": request.patient_id, "status": "refused"})
    return request


def erasure_carry_out(*, actor: User, request_id: Any) -> tuple[ErasureRequest, StoredLeftovers]:
    """Erase the request's patient (see the module). Flushes; the caller commits, then passes the
    leftovers to `erasure_delete_stored`."""
    request = _pending(actor, request_id)
    patient = db.session.get(User, request.patient_id, with_for_update=True, populate_existing=True)
    if not policies.can("delete", actor, patient):
        raise Forbidden("Staff accounts are deactivated, never erased: their notes stay authored.",
                        code="STAFF_NOT_ERASED")
    leftovers = StoredLeftovers()
    counts = {"bookings_cancelled": _cancel_future_bookings(actor, patient),
              "series_ended": _end_series(actor, patient),
              "recordings_deleted": _delete_recordings(actor, patient, leftovers),
              "intake_answers_deleted": _delete_intake(patient),
              "mails_emptied": _empty_mails(patient, leftovers)}
    _revoke_access(actor, patient)
    _scrub_audit(patient)
    _replace_identity(patient)
    _decide(actor, request, "carried_out")
    db.session.flush()
    audit_record(actor=actor, action="erasure_carried_out", entity_type="user", entity_id=patient.id,
                 new_values={"request_id": request.id, **counts})
    log.info("erasure %s carried out for %s by %s", request.id, patient.id, actor.id)
    return request, leftovers


def _cancel_future_bookings(actor: User, patient: User) -> int:
    """Every booking still to come, cancelled by the clinic through the cancellation service (its
    status history, audit and mails to the specialist as usual)."""
    from portal.services.cancellations import booking_cancel

    upcoming = db.session.scalars(sa.select(Booking.id).where(
        Booking.patient_id == patient.id, Booking.status.in_(ACTIVE_STATUSES), Booking.starts_at > clock.now())
        .order_by(Booking.starts_at)).all()
    for booking_id in upcoming:  # the admin cancels for the clinic (as_staff): the row names the admin
        booking_cancel(actor=actor, booking_id=booking_id, reason=ERASURE_CANCEL_REASON, as_staff=True,
                       cancelled_for="clinic")
    return len(upcoming)


def _end_series(actor: User, patient: User) -> int:
    from portal.services.recurring import recurring_end

    series = db.session.scalars(sa.select(RecurringBooking).where(
        RecurringBooking.user_id == patient.id, RecurringBooking.is_active.is_(True))).all()
    for row in series:
        recurring_end(actor=actor, series=row)  # its sessions to come are cancelled already
    return len(series)


def _delete_recordings(actor: User, patient: User, leftovers: StoredLeftovers) -> int:
    recordings = db.session.scalars(sa.select(MeetingRecording).join(Booking, Booking.id == MeetingRecording.booking_id)
                                    .where(Booking.patient_id == patient.id)).all()
    for recording in recordings:
        audit_record(actor=actor, action="recording_deleted", entity_type="meeting_recording",
                     entity_id=recording.id, old_values={"booking_id": recording.booking_id,
                                                         "storage_path": recording.storage_path,
                                                         "reason": "erasure"})
        leftovers.storage_keys.append(recording.storage_path)
        db.session.delete(recording)
    db.session.flush()
    return len(recordings)


def _empty_mails(patient: User, leftovers: StoredLeftovers) -> int:
    """The person's stored mails lose their copies; those not yet sent are dropped (the address is
    about to go)."""
    ids = db.session.scalars(sa.select(Outbox.id).where(Outbox.recipient_id == patient.id)).all()
    if not ids:
        return 0
    db.session.execute(sa.update(Outbox).where(Outbox.recipient_id == patient.id)
                       .values(subject=None, body_text=None, body_html=None, sent_to=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(Outbox).where(Outbox.recipient_id == patient.id,
                                               Outbox.status.in_(("pending", "sending")))
                       .values(status="dropped", lease_until=None).execution_options(synchronize_session=False))
    leftovers.outbox_ids.extend(str(outbox_id) for outbox_id in ids)
    return len(ids)


def _delete_intake(patient: User) -> int:
    """The patient's intake answers (they are not the clinic's record of a session) and consents
    (the sessions that needed them are cancelled or over): deleted at once."""
    count = db.session.execute(sa.delete(IntakeResponse).where(IntakeResponse.patient_id == patient.id)).rowcount
    db.session.execute(sa.delete(Consent).where(Consent.patient_id == patient.id))
    return count or 0


def _revoke_access(actor: User, patient: User) -> None:
    user_end_sessions(user=patient, actor=actor, reason="erased")
    api_tokens_revoke_all(user=patient, actor=actor, reason="erased")
    db.session.execute(sa.delete(RecordingAccessCode).where(RecordingAccessCode.user_id == patient.id))


def _scrub(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, str) and any(secret in value.lower() for secret in secrets):
        return ERASED
    return value


def _scrub_audit(patient: User) -> None:
    """Audit rows about or by the person keep their ids and actions, never the name or e-mail."""
    secrets = {text.lower() for text in (patient.email, patient.display_name) if text and len(text) > 2}
    rows = db.session.scalars(sa.select(AuditLog).where(sa.or_(
        AuditLog.actor_id == patient.id, AuditLog.entity_id == str(patient.id)))).all()
    for row in rows:
        for column in ("old_values", "new_values"):
            values = getattr(row, column)
            if values:
                cleaned = _scrub(values, secrets)
                if cleaned != values:
                    setattr(row, column, cleaned)


def _replace_identity(patient: User) -> None:
    address = f"erased-{patient.id.hex}@erased.invalid"  # .invalid can never receive mail (RFC 2606)
    patient.display_name = former_name(patient)
    patient.email = patient.email_normalized = address
    patient.password_hash = "!erased"  # matches no password: sign-in is impossible
    patient.is_active = False
    patient.email_confirmed_at = None
    patient.reminders_enabled = False
    patient.calendar_feed_version = (patient.calendar_feed_version or 1) + 1


def erasure_delete_stored(leftovers: StoredLeftovers) -> dict:
    """After the erasure committed: delete its recordings' stored objects and the person's
    development mail files. A failure is logged (by key, never by name) and the rest go on."""
    from portal.services.mail_files import mail_folder
    from portal.services.recordings.storage import get_storage

    result = {"objects_deleted": 0, "mail_files_deleted": 0, "errors": 0}
    storage = get_storage()
    for key in leftovers.storage_keys:
        try:
            result["objects_deleted"] += bool(storage.delete(key))
        except Exception:
            result["errors"] += 1
            log.exception("erasure: stored recording %s could not be deleted", key)
    folder = mail_folder()
    for outbox_id in leftovers.outbox_ids:
        for path in folder.glob(f"*-{outbox_id}.eml"):
            path.unlink(missing_ok=True)
            result["mail_files_deleted"] += 1
    return result


def erasure_carry_out_and_commit(*, actor: User, request_id: Any) -> tuple[ErasureRequest, dict]:
    """For the interfaces that own the transaction: erase, commit, then delete what was stored."""
    request, leftovers = erasure_carry_out(actor=actor, request_id=request_id)
    db.session.commit()
    return request, erasure_delete_stored(leftovers)
