"""Reminders before sessions: which bookings are owed one, and the signed one-click opt-out.

`reminders_queue` runs every 15 minutes (rq-scheduler, or the in-process scheduler without
Redis): every active booking starting within REMINDER_HOURS gets one `booking_reminder` outbox
row per party who has reminders on; the dedup key makes it exactly once per booking and person."""
from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from portal import clock
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking, User
from portal.services.audit import audit_record
from portal.services.outbox import outbox_add_many

SALT = "reminder-opt-out"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def opt_out_token(user: User) -> str:
    return _serializer().dumps(str(user.id))


def opt_out_user(token: str) -> User | None:
    """The user a reminder's opt-out token names; None for a bad token."""
    try:
        user_id = uuid.UUID(_serializer().loads(token))
    except (BadSignature, ValueError, TypeError):
        return None
    return db.session.get(User, user_id)


def reminders_opt_out(*, token: str) -> User | None:
    """Turn reminders off for the user the token names; None for a bad token."""
    user = opt_out_user(token)
    if user is None:
        return None
    reminders_set(actor=user, user=user, enabled=False)
    return user


def reminders_set(*, actor: User | None, user: User, enabled: bool) -> User:
    if user.reminders_enabled != enabled:
        user.reminders_enabled = enabled
        db.session.flush()
        audit_record(actor=actor, action="reminders_changed", entity_type="user", entity_id=user.id,
                     old_values={"reminders_enabled": not enabled}, new_values={"reminders_enabled": enabled})
    return user


def reminder_key(booking_id, user_id, sequence: int = 0) -> str:
    """One reminder per booking, recipient and time: a moved session (a higher invitation
    sequence) is reminded of again at its new time."""
    return f"booking_reminder:{booking_id}:{user_id}" + (f":{sequence}" if sequence else "")


def reminders_queue(*, now=None) -> int:
    """Write the reminders now due; returns how many it wrote. In the caller's transaction.

    One query for the due (booking, recipient) pairs of recipients who want reminders, one
    statement for the rows: a key written on an earlier run writes nothing again."""
    now = now or clock.now()
    hours = current_app.config.get("REMINDER_HOURS", 24)
    due = db.session.execute(
        sa.select(Booking.id, User.id, Booking.ics_sequence)
        .join(User, sa.or_(User.id == Booking.patient_id, User.id == Booking.specialist_id))
        .where(Booking.status.in_(ACTIVE_STATUSES), Booking.starts_at > now,
               Booking.starts_at <= now + timedelta(hours=hours),
               User.reminders_enabled.is_(True), User.is_active.is_(True))).all()
    return outbox_add_many([{"recipient_id": user_id, "template": "booking_reminder",
                             "about": {"booking_id": booking_id},
                             "dedup_key": reminder_key(booking_id, user_id, sequence)}
                            for booking_id, user_id, sequence in due])
