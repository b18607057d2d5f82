"""Who may see and change bookings and what hangs off them: history, cancellations,
recurring series, packages and enrolments."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Booking,
    BookingCancellation,
    BookingPackage,
    BookingStatusHistory,
    PackageEnrolment,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Role,
)
from portal.policies.base import (
    Policy,
    WrittenByServicesPolicy,
    booking_of,
    booking_party_clause,
    is_admin,
    is_party,
    user_id,
)
from portal.policies.people import SpecialistOwnedPolicy


class BookingPolicy(Policy):
    """Patients see their bookings, specialists the bookings with them, admin all."""

    model = Booking

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = user_id(user)
        return sa.or_(Booking.patient_id == uid, Booking.specialist_id == uid)

    def view(self, user, row):
        return is_admin(user) or is_party(user, row)

    def create(self, user, row):
        # Patients book for themselves; admins book any patient with any specialist, and a
        # specialist books a patient on their own calendar.
        uid = user_id(user)
        return is_admin(user) or (uid is not None and (
            (user.role == Role.PATIENT and row.patient_id == uid)
            or (user.role == Role.SPECIALIST and row.specialist_id == uid)))

    def reschedule(self, user, row) -> bool:
        """Either party or an admin may move a session (the service adds the patient's window)."""
        return is_admin(user) or is_party(user, row)

    def mark_attendance(self, user, row) -> bool:
        """The session's specialist or an admin records whether the patient came."""
        uid = user_id(user)
        return is_admin(user) or (uid is not None and row.specialist_id == uid)

    def update(self, user, row):
        # Status changes (cancel) are open to both parties; admin oversees.
        return is_admin(user) or is_party(user, row)

    def delete(self, user, row):
        return False  # bookings are cancelled, never deleted


class BookingStatusHistoryPolicy(WrittenByServicesPolicy):
    model = BookingStatusHistory

    def visible(self, user):
        return sa.true() if is_admin(user) else booking_party_clause(user, BookingStatusHistory.booking_id)

    def view(self, user, row):
        return is_admin(user) or is_party(user, booking_of(row))


class CancellationPolicy(WrittenByServicesPolicy):
    """Spec: parties and admin view; only the cancelling party inserts; immutable."""

    model = BookingCancellation

    def visible(self, user):
        return sa.true() if is_admin(user) else booking_party_clause(user, BookingCancellation.booking_id)

    def view(self, user, row):
        return is_admin(user) or is_party(user, booking_of(row))

    def create(self, user, row):
        booking = booking_of(row)
        allowed = self.cancel(user, booking) or self.cancel_for_parties(user, booking)
        return allowed and row.cancelled_by == user_id(user)

    def cancel(self, user, booking: Booking | None) -> bool:
        """The spec's rule (its booking-cancel function): only the booking's patient or
        its specialist may cancel it."""
        return is_party(user, booking)

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
        uid = user_id(user)
        return sa.or_(RecurringBooking.user_id == uid, RecurringBooking.specialist_id == uid)

    def view(self, user, row):
        uid = user_id(user)
        return is_admin(user) or (uid is not None and uid in (row.user_id, row.specialist_id))

    def _manages(self, user, row) -> bool:
        uid = user_id(user)
        return is_admin(user) or (uid is not None and user.role == Role.PATIENT and row.user_id == uid)

    create = update = delete = _manages


class RecurringSkipPolicy(WrittenByServicesPolicy):
    model = RecurringOccurrenceSkip

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = user_id(user)
        series = sa.select(RecurringBooking.id).where(
            sa.or_(RecurringBooking.user_id == uid, RecurringBooking.specialist_id == uid)
        )
        return RecurringOccurrenceSkip.recurring_booking_id.in_(series)

    def view(self, user, row):
        series = db.session.get(RecurringBooking, row.recurring_booking_id)
        return series is not None and RecurringPolicy().view(user, series)


class PackagePolicy(SpecialistOwnedPolicy):
    """Spec: active packages public, specialist sees and manages own, admin all."""

    model = BookingPackage

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        if user_id(user) is None:
            return BookingPackage.is_active.is_(True)
        return sa.or_(BookingPackage.is_active.is_(True), BookingPackage.specialist_id == user_id(user))

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
        uid = user_id(user)
        return sa.or_(PackageEnrolment.patient_id == uid, PackageEnrolment.specialist_id == uid)

    def view(self, user, row):
        return is_admin(user) or user_id(user) in (row.patient_id, row.specialist_id)

    def create(self, user, row):
        return user.role == Role.PATIENT and row.patient_id == user_id(user)

    def update(self, user, row):
        return is_admin(user) or row.specialist_id == user_id(user)

    def delete(self, user, row):
        return False
