"""What every table's policy shares: who the user is, and the admin-only default."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Booking, Role

STAFF_ROLES = (Role.ADMIN, Role.OPS)


def is_admin(user) -> bool:
    return bool(user) and getattr(user, "is_authenticated", False) and user.role == Role.ADMIN


def is_ops(user) -> bool:
    return bool(user) and getattr(user, "is_authenticated", False) and user.role in STAFF_ROLES


def user_id(user) -> uuid.UUID | None:
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def is_party(user, booking: Booking | None) -> bool:
    uid = user_id(user)
    return booking is not None and uid is not None and uid in (booking.patient_id, booking.specialist_id)


def booking_party_clause(user, booking_id_column) -> sa.ColumnElement:
    """Rows whose booking has the user as patient or specialist."""
    uid = user_id(user)
    parties = sa.select(Booking.id).where(sa.or_(Booking.patient_id == uid, Booking.specialist_id == uid))
    return booking_id_column.in_(parties)


def booking_of(row) -> Booking | None:
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
