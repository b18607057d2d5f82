"""Changing a booking after it is made: /api/v1/bookings/<id>/reschedule and /attendance."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.bookings import BookingSchema
from portal.api.common import Blueprint, BoundedDateTime
from portal.domain.inputs import MAX_REASON
from portal.extensions import db
from portal.models import ATTENDANCE_STATUSES
from portal.services.attendance import booking_attendance_set
from portal.services.reschedule import booking_reschedule

blp = Blueprint("api_booking_changes", __name__, url_prefix="/api/v1/bookings",
                description="Moving a session and recording attendance")


class RescheduleSchema(ma.Schema):
    starts_at = BoundedDateTime(required=True, metadata={"description": "The new start, ISO 8601 with offset"})
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=MAX_REASON), metadata={
        "description": "Optional; shown to the parties and staff in the booking's history, never mailed"})


class AttendanceSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(ATTENDANCE_STATUSES))


@blp.route("/<uuid:booking_id>/reschedule", methods=["POST"])
@blp.arguments(RescheduleSchema)
@blp.response(200, BookingSchema)
@blp.alt_response(403, response="DEFAULT_ERROR")  # FORBIDDEN
@blp.alt_response(404, response="DEFAULT_ERROR")  # NOT_FOUND
@blp.alt_response(409, response="DEFAULT_ERROR")  # LATE_RESCHEDULE, SLOT_UNAVAILABLE, ALREADY_CANCELLED, a rule's code
def reschedule_booking(data, booking_id):
    """Move a session: the same booking (id, status, package credit, series link) at a new time.

    The patient, the specialist or an admin. 409 LATE_RESCHEDULE when the patient asks inside
    the specialist's late-cancellation window; 409 SLOT_UNAVAILABLE when the new time is taken,
    blocked or outside hours; 409 BOOKING_LIMIT_REACHED, TOO_SHORT_NOTICE or
    OUTSIDE_BOOKING_WINDOW when the patient moves against the booking rules (staff may);
    409 ALREADY_CANCELLED; 422 BOOKING_IN_PAST for a session that has started; 400 SAME_TIME.
    Both parties get one mail whose calendar invitation moves the event."""
    booking = booking_reschedule(actor=current_user, booking_id=booking_id, starts_at=data["starts_at"],
                                 reason=data["reason"])
    db.session.commit()
    return booking


@blp.route("/<uuid:booking_id>/attendance", methods=["POST"])
@blp.arguments(AttendanceSchema)
@blp.response(200, BookingSchema)
@blp.alt_response(403, response="DEFAULT_ERROR")  # FORBIDDEN
@blp.alt_response(404, response="DEFAULT_ERROR")  # NOT_FOUND
@blp.alt_response(409, response="DEFAULT_ERROR")  # NOT_STARTED, ATTENDANCE_CLOSED, ALREADY_CANCELLED
def set_attendance(data, booking_id):
    """Record whether the session took place ("completed") or the patient missed it ("no_show").

    The session's specialist or an admin, once it has started (409 NOT_STARTED before), and
    for 7 days after it ended (409 ATTENDANCE_CLOSED after). A no-show keeps its package credit used."""
    booking = booking_attendance_set(actor=current_user, booking_id=booking_id, status=data["status"])
    db.session.commit()
    return booking
