"""Who may see and change each table: the portal's version of the spec's RLS.

Every view, API endpoint and job reads through here:
- `visible(Model, user)` is a WHERE clause that scopes a query to the rows
  the user may see (lists, searches, counts);
- `can(action, user, row)` answers yes or no for one row (templates use it
  to show or hide a button);
- `load(Model, id, user)` answers 404 for a row outside the user's scope and
  `require(action, user, row)` answers 403 for a visible row they may not change.

Actions are "view", "create", "update" and "delete". For "create" the row is
the unsaved object, so the rule can look at what it is attached to.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort

from portal.extensions import db
from portal.models import (
    ROLES,
    ApiToken,
    AuditLog,
    AvailabilityException,
    Booking,
    BookingCancellation,
    BookingPackage,
    BookingStatusHistory,
    JobRun,
    MeetingRecording,
    Outbox,
    PackageEnrolment,
    RecordingAccessCode,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Role,
    SessionNote,
    SessionNoteAmendment,
    SpecialistProfile,
    SpecialistRate,
    User,
    WorkingHours,
)

ACTIONS = ("view", "create", "update", "delete")
STAFF_ROLES = (Role.ADMIN, Role.OPS)
# Who may open a route, read by the role-by-endpoint test: blueprints and views
# carry `allowed_roles` (set by role_blueprint, roles_required, or by hand).
SIGNED_IN = ROLES
PUBLIC = ("anonymous", *ROLES)


def is_admin(user) -> bool:
    return bool(user) and getattr(user, "is_authenticated", False) and user.role == Role.ADMIN


def is_ops(user) -> bool:
    return bool(user) and getattr(user, "is_authenticated", False) and user.role in STAFF_ROLES


def _uid(user) -> uuid.UUID | None:
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def _is_party(user, booking: Booking | None) -> bool:
    uid = _uid(user)
    return booking is not None and uid is not None and uid in (booking.patient_id, booking.specialist_id)


def _booking_party_clause(user, booking_id_column) -> sa.ColumnElement:
    """Rows whose booking has the user as patient or specialist."""
    uid = _uid(user)
    parties = sa.select(Booking.id).where(sa.or_(Booking.patient_id == uid, Booking.specialist_id == uid))
    return booking_id_column.in_(parties)


def _booking_for(row) -> Booking | None:
    booking = getattr(row, "booking", None)
    if booking is None and getattr(row, "booking_id", None) is not None:
        booking = db.session.get(Booking, row.booking_id)
    return booking


class Policy:
    """Rules for one table. Subclasses override what differs from 'admin only'."""

    model: type

    def visible(self, user) -> sa.ColumnElement:
        return sa.true() if is_admin(user) else sa.false()

    def view(self, user, row) -> bool:
        return is_admin(user)

    def create(self, user, row) -> bool:
        return is_admin(user)

    def update(self, user, row) -> bool:
        return is_admin(user)

    def delete(self, user, row) -> bool:
        return is_admin(user)


class WrittenByServicesPolicy(Policy):
    """A record only the services write (history, skips, the audit trail): no one creates,
    edits or deletes one through a route, admins included."""

    def create(self, user, row) -> bool:
        return False

    def update(self, user, row) -> bool:
        return False

    def delete(self, user, row) -> bool:
        return False


class UserPolicy(Policy):
    model = User

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        # Everyone signed in may find specialists; other users see only themselves.
        return sa.or_(User.id == _uid(user), sa.and_(User.role == Role.SPECIALIST, User.is_active.is_(True)))

    def view(self, user, row):
        return is_admin(user) or row.id == _uid(user) or (row.role == Role.SPECIALIST and row.is_active)

    def update(self, user, row):
        return is_admin(user) or row.id == _uid(user)

    def delete(self, user, row):
        return False  # accounts are deactivated, never deleted


class SpecialistOwnedPolicy(Policy):
    """Public to signed-in users; the specialist manages their own, admin all."""

    def visible(self, user):
        return sa.true() if _uid(user) else sa.false()

    def view(self, user, row):
        return _uid(user) is not None

    def _owns(self, user, row) -> bool:
        return is_admin(user) or (
            _uid(user) is not None and user.role == Role.SPECIALIST and row.specialist_id == _uid(user)
        )

    create = update = delete = _owns


class SpecialistProfilePolicy(SpecialistOwnedPolicy):
    model = SpecialistProfile

    def _owns(self, user, row):
        return is_admin(user) or (_uid(user) is not None and row.id == _uid(user))

    create = update = _owns

    def delete(self, user, row):
        return is_admin(user)


class RatePolicy(SpecialistOwnedPolicy):
    model = SpecialistRate


class WorkingHoursPolicy(SpecialistOwnedPolicy):
    model = WorkingHours


class ExceptionPolicy(SpecialistOwnedPolicy):
    """Spec: specialist manages own, users view (for availability), admin all.

    Why a specialist is away (sick leave, personal) is theirs: everyone else
    sees only that the time is unavailable (`can_see_exception_reason`)."""

    model = AvailabilityException


def can_see_exception_reason(user, exception: AvailabilityException) -> bool:
    return is_admin(user) or (_uid(user) is not None and exception.specialist_id == _uid(user))


class PackagePolicy(SpecialistOwnedPolicy):
    """Spec: active packages public, specialist sees and manages own, admin all."""

    model = BookingPackage

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        if _uid(user) is None:
            return BookingPackage.is_active.is_(True)
        return sa.or_(BookingPackage.is_active.is_(True), BookingPackage.specialist_id == _uid(user))

    def view(self, user, row):
        return row.is_active or self._owns(user, row)


class EnrolmentPolicy(Policy):
    """The patient sees their own enrolments, the specialist those for
    their packages, admins all. A patient takes one for themselves; the package's
    specialist or an admin marks it paid (update); none is ever deleted (an
    unpaid one is cancelled, by an admin, in the service)."""

    model = PackageEnrolment

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = _uid(user)
        return sa.or_(PackageEnrolment.patient_id == uid, PackageEnrolment.specialist_id == uid)

    def view(self, user, row):
        return is_admin(user) or _uid(user) in (row.patient_id, row.specialist_id)

    def create(self, user, row):
        return user.role == Role.PATIENT and row.patient_id == _uid(user)

    def update(self, user, row):
        return is_admin(user) or row.specialist_id == _uid(user)

    def delete(self, user, row):
        return False


class BookingPolicy(Policy):
    """Patients see their bookings, specialists the bookings with them, admin all."""

    model = Booking

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = _uid(user)
        return sa.or_(Booking.patient_id == uid, Booking.specialist_id == uid)

    def view(self, user, row):
        return is_admin(user) or _is_party(user, row)

    def create(self, user, row):
        # Patients book for themselves; admins may book on a patient's behalf.
        return is_admin(user) or (
            _uid(user) is not None and user.role == Role.PATIENT and row.patient_id == _uid(user)
        )

    def update(self, user, row):
        # Status changes (cancel) are open to both parties; admin oversees.
        return is_admin(user) or _is_party(user, row)

    def delete(self, user, row):
        return False  # bookings are cancelled, never deleted


class BookingStatusHistoryPolicy(WrittenByServicesPolicy):
    model = BookingStatusHistory

    def visible(self, user):
        return sa.true() if is_admin(user) else _booking_party_clause(user, BookingStatusHistory.booking_id)

    def view(self, user, row):
        return is_admin(user) or _is_party(user, _booking_for(row))


class CancellationPolicy(WrittenByServicesPolicy):
    """Spec: parties and admin view; only the cancelling party inserts; immutable."""

    model = BookingCancellation

    def visible(self, user):
        return sa.true() if is_admin(user) else _booking_party_clause(user, BookingCancellation.booking_id)

    def view(self, user, row):
        return is_admin(user) or _is_party(user, _booking_for(row))

    def create(self, user, row):
        booking = _booking_for(row)
        allowed = self.cancel(user, booking) or self.cancel_for_parties(user, booking)
        return allowed and row.cancelled_by == _uid(user)

    def cancel(self, user, booking: Booking | None) -> bool:
        """The spec's rule (its booking-cancel function): only the booking's patient or
        its specialist may cancel it."""
        return _is_party(user, booking)

    def cancel_for_parties(self, user, booking: Booking | None) -> bool:
        """Staff acting on the parties' behalf (a sick specialist's day, a patient's call):
        an admin may cancel any booking from the portal's pages; the row names the admin."""
        return booking is not None and is_admin(user)


class RecurringPolicy(Policy):
    """Spec: user, specialist and admin view; the user (or admin) manages and deletes."""

    model = RecurringBooking

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = _uid(user)
        return sa.or_(RecurringBooking.user_id == uid, RecurringBooking.specialist_id == uid)

    def view(self, user, row):
        uid = _uid(user)
        return is_admin(user) or (uid is not None and uid in (row.user_id, row.specialist_id))

    def _manages(self, user, row) -> bool:
        uid = _uid(user)
        return is_admin(user) or (uid is not None and user.role == Role.PATIENT and row.user_id == uid)

    create = update = delete = _manages


class RecurringSkipPolicy(WrittenByServicesPolicy):
    model = RecurringOccurrenceSkip

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = _uid(user)
        series = sa.select(RecurringBooking.id).where(
            sa.or_(RecurringBooking.user_id == uid, RecurringBooking.specialist_id == uid)
        )
        return RecurringOccurrenceSkip.recurring_booking_id.in_(series)

    def view(self, user, row):
        series = db.session.get(RecurringBooking, row.recurring_booking_id)
        return series is not None and RecurringPolicy().view(user, series)


class SessionNotePolicy(Policy):
    """Spec: provider (own) and the booking's patient view; provider writes; admin deletes."""

    model = SessionNote

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = _uid(user)
        patients_bookings = sa.select(Booking.id).where(Booking.patient_id == uid)
        return sa.or_(SessionNote.provider_id == uid, SessionNote.booking_id.in_(patients_bookings))

    def view(self, user, row):
        uid = _uid(user)
        if is_admin(user) or (uid is not None and row.provider_id == uid):
            return True
        booking = _booking_for(row)
        return booking is not None and booking.patient_id == uid

    def create(self, user, row):
        uid = _uid(user)
        booking = _booking_for(row)
        return (
            uid is not None and user.role == Role.SPECIALIST and row.provider_id == uid
            and booking is not None and booking.specialist_id == uid
        )

    def update(self, user, row):
        uid = _uid(user)
        return uid is not None and user.role == Role.SPECIALIST and row.provider_id == uid


class AmendmentPolicy(Policy):
    model = SessionNoteAmendment

    def visible(self, user):
        visible_notes = sa.select(SessionNote.id).where(SessionNotePolicy().visible(user))
        return SessionNoteAmendment.note_id.in_(visible_notes)

    def view(self, user, row):
        return SessionNotePolicy().view(user, row.note)

    def create(self, user, row):
        return SessionNotePolicy().update(user, row.note) and row.author_id == _uid(user)

    def update(self, user, row):
        return False  # append-only


class RecordingPolicy(Policy):
    """Spec: booking parties and admin view; admin alone creates, updates and deletes."""

    model = MeetingRecording

    def visible(self, user):
        return sa.true() if is_admin(user) else _booking_party_clause(user, MeetingRecording.booking_id)

    def view(self, user, row):
        return is_admin(user) or _is_party(user, _booking_for(row))


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


class JobRunPolicy(OutboxPolicy):
    """What the scheduled jobs last did: the operations page's, for admins and ops."""

    model = JobRun


class ApiTokenPolicy(Policy):
    model = ApiToken

    def visible(self, user):
        return sa.true() if is_admin(user) else ApiToken.user_id == _uid(user)

    def view(self, user, row):
        return is_admin(user) or row.user_id == _uid(user)

    create = update = delete = view


POLICIES: dict[type, Policy] = {
    policy.model: policy
    for policy in (
        UserPolicy(), SpecialistProfilePolicy(), RatePolicy(), WorkingHoursPolicy(),
        ExceptionPolicy(), PackagePolicy(), EnrolmentPolicy(), BookingPolicy(), BookingStatusHistoryPolicy(),
        CancellationPolicy(), RecurringPolicy(), RecurringSkipPolicy(), SessionNotePolicy(),
        AmendmentPolicy(), RecordingPolicy(), RecordingAccessCodePolicy(), AuditLogPolicy(), ApiTokenPolicy(),
        OutboxPolicy(), JobRunPolicy(),
    )
}


def policy_for(model: type) -> Policy:
    return POLICIES[model]


def _signed_in(user) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)


def visible(model: type, user) -> sa.ColumnElement:
    """WHERE clause limiting a query on `model` to what `user` may see."""
    policy = policy_for(model)
    if not _signed_in(user) and model is not BookingPackage:
        return sa.false()  # anonymous and deactivated users see nothing but active packages
    return policy.visible(user if _signed_in(user) else None)


def can(action: str, user, row: Any) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not _signed_in(user):
        return action == "view" and isinstance(row, BookingPackage) and row.is_active
    return bool(getattr(policy_for(type(row)), action)(user, row))


def can_cancel(user, booking: Booking, *, as_staff: bool = False) -> bool:
    """May `user` cancel `booking` (whatever its status or time)? With `as_staff`,
    admins may too (the pages); without it, only the parties (the spec's function)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    policy = POLICIES[BookingCancellation]
    return policy.cancel(user, booking) or (as_staff and policy.cancel_for_parties(user, booking))


def as_uuid(value: Any) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one (ids arrive as text from URLs and JSON)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def find_visible(model: type, row_id: Any, user) -> Any:
    """The row, or None when the id is malformed, the row does not exist or it
    lies outside the user's scope (the three look the same to the caller)."""
    key = as_uuid(row_id)
    row = db.session.get(model, key) if key is not None else None
    return row if row is not None and can("view", user, row) else None


def load(model: type, row_id: Any, user) -> Any:
    """The row, or 404 when it does not exist or lies outside the user's scope."""
    row = find_visible(model, row_id, user)
    if row is None:
        abort(404)
    return row


def require(action: str, user, row: Any) -> Any:
    """The row, or 403: the user may see it but may not do `action` to it."""
    if not can(action, user, row):
        abort(403)
    return row


def load_for(action: str, model: type, row_id: Any, user) -> Any:
    return require(action, user, load(model, row_id, user))


def roles_required(*roles: Role, deny_status: int = 403) -> Callable:
    """Route decorator for pages only some roles may open.

    The view carries `allowed_roles` and `deny_status` so that the
    role-by-endpoint test classifies it without a list kept by hand."""
    from functools import wraps

    from flask_login import current_user

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from portal.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(deny_status)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        wrapped.deny_status = deny_status
        return wrapped

    return decorator
