"""Who may see and change the records: session notes and amendments, recordings, the
audit trail, the outbox, the job runs, the access log and erasure requests."""
from __future__ import annotations

import sqlalchemy as sa

from portal.models import (
    AuditLog,
    Booking,
    ErasureRequest,
    JobRun,
    MeetingRecording,
    Outbox,
    RecordAccess,
    RecordingAccessCode,
    Role,
    SessionNote,
    SessionNoteAmendment,
)
from portal.policies.base import (
    Policy,
    WrittenByServicesPolicy,
    booking_of,
    booking_party_clause,
    is_admin,
    is_ops,
    is_party,
    user_id,
)


class SessionNotePolicy(Policy):
    """Spec: provider (own) and the booking's patient view; provider writes; admin deletes."""

    model = SessionNote

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = user_id(user)
        patients_bookings = sa.select(Booking.id).where(Booking.patient_id == uid)
        return sa.or_(SessionNote.provider_id == uid, SessionNote.booking_id.in_(patients_bookings))

    def view(self, user, row):
        uid = user_id(user)
        if is_admin(user) or (uid is not None and row.provider_id == uid):
            return True
        booking = booking_of(row)
        return booking is not None and booking.patient_id == uid

    def create(self, user, row):
        uid = user_id(user)
        booking = booking_of(row)
        return (
            uid is not None and user.role == Role.SPECIALIST and row.provider_id == uid
            and booking is not None and booking.specialist_id == uid
        )

    def update(self, user, row):
        uid = user_id(user)
        return uid is not None and user.role == Role.SPECIALIST and row.provider_id == uid


def can_read_private_notes(user, row: SessionNote) -> bool:
    """The note's private field: its author and admins, never the booking's patient."""
    uid = user_id(user)
    return bool(getattr(user, "is_active", False)) and (
        is_admin(user) or (uid is not None and row.provider_id == uid))


class AmendmentPolicy(Policy):
    model = SessionNoteAmendment

    def visible(self, user):
        visible_notes = sa.select(SessionNote.id).where(SessionNotePolicy().visible(user))
        return SessionNoteAmendment.note_id.in_(visible_notes)

    def view(self, user, row):
        return SessionNotePolicy().view(user, row.note)

    def create(self, user, row):
        return SessionNotePolicy().update(user, row.note) and row.author_id == user_id(user)

    def update(self, user, row):
        return False  # append-only


class RecordingPolicy(Policy):
    """Spec: booking parties and admin view; admin alone creates, updates and deletes."""

    model = MeetingRecording

    def visible(self, user):
        return sa.true() if is_admin(user) else booking_party_clause(user, MeetingRecording.booking_id)

    def view(self, user, row):
        return is_admin(user) or is_party(user, booking_of(row))


class RecordingAccessCodePolicy(WrittenByServicesPolicy):
    """A signed link's one-time code: the recordings service alone reads and spends it."""

    model = RecordingAccessCode

    def visible(self, user):
        return sa.false()

    def view(self, user, row):
        return False


class AuditLogPolicy(WrittenByServicesPolicy):
    """Admins review the trail; ops read the system's own rows (job runs); nobody edits it."""

    model = AuditLog

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        return AuditLog.actor_id.is_(None) if is_ops(user) else sa.false()

    def view(self, user, row):
        return is_admin(user) or (is_ops(user) and row.actor_id is None)


class OutboxPolicy(WrittenByServicesPolicy):
    """The mailbox: admins and ops read every message (they carry no health data); services write."""

    model = Outbox

    def visible(self, user):
        return sa.true() if is_admin(user) or is_ops(user) else sa.false()

    def view(self, user, row):
        return is_admin(user) or is_ops(user)


# Messages about an account (a confirmation, an invitation, a password reset, a sign-up attempt)
# are their recipient's: the mailbox shows their status and tries, never their bodies.
ACCOUNT_MAIL_TEMPLATES = ("account_confirm", "account_invite", "password_reset", "account_exists")


def can_read_mail_body(user, row: Outbox) -> bool:
    """Whether the mailbox may show `user` what `row` says (not only that it was sent)."""
    return OutboxPolicy().view(user, row) and row.template not in ACCOUNT_MAIL_TEMPLATES


class JobRunPolicy(OutboxPolicy):
    """What the scheduled jobs last did: the operations page's, for admins and ops."""

    model = JobRun


class RecordAccessPolicy(WrittenByServicesPolicy):
    """The access log: the patient reads who read their records, admins read everyone's; the
    services alone write it, and nobody edits or deletes a row."""

    model = RecordAccess

    def visible(self, user):
        return sa.true() if is_admin(user) else RecordAccess.patient_id == user_id(user)

    def view(self, user, row):
        return is_admin(user) or row.patient_id == user_id(user)


class ErasureRequestPolicy(Policy):
    """A patient asks for their own erasure and reads its outcome; admins read every request and
    decide it (update); nobody deletes one."""

    model = ErasureRequest

    def visible(self, user):
        return sa.true() if is_admin(user) else ErasureRequest.patient_id == user_id(user)

    def view(self, user, row):
        return is_admin(user) or row.patient_id == user_id(user)

    def create(self, user, row):
        return user_id(user) is not None and user.role == Role.PATIENT and row.patient_id == user_id(user)

    def update(self, user, row):
        return is_admin(user)

    def delete(self, user, row):
        return False
