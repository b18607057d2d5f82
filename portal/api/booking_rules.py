"""A specialist's booking rules: GET|PUT /api/v1/specialists/<id>/booking-rules."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint
from portal.domain.booking_rules import LIMITS
from portal.errors import NotFound
from portal.extensions import db
from portal.models import User
from portal.selectors.specialists import specialist_get
from portal.services.booking_rules import booking_rules_get, booking_rules_update

blp = Blueprint("api_booking_rules", __name__, url_prefix="/api/v1/specialists",
                description="Booking rules: upcoming limit per patient, minimum notice, booking window")


def _rule(name: str, description: str, **options):
    low, high = LIMITS[name]
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=low, max=high),
                             metadata={"description": description}, **options)


class BookingRulesSchema(ma.Schema):
    max_upcoming_per_patient = _rule(
        "max_upcoming_per_patient", "Active upcoming bookings one patient may hold with this specialist")
    min_notice_hours = _rule("min_notice_hours", "No booking starts sooner than this after it is made")
    booking_window_days = _rule(
        "booking_window_days", "No booking (or series start) further ahead; at most MAX_BOOKING_AHEAD_DAYS")
    buffer_before_minutes = _rule("buffer_before_minutes", "Kept free before each session")
    buffer_after_minutes = _rule("buffer_after_minutes", "Kept free after each session")
    slot_interval_minutes = _rule(
        "slot_interval_minutes", "Start times lie on this grid, counted from the hour in the specialist's zone; "
        "null: the shortest active service's length rounded up to 15 minutes, at most 60", allow_none=True)


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return policies.load(User, specialist.id, current_user)


@blp.route("/<uuid:specialist_id>/booking-rules", methods=["GET"])
@blp.response(200, BookingRulesSchema)
def get_booking_rules(specialist_id):
    """The specialist's booking rules (anyone signed in: they decide which slots are offered)."""
    return booking_rules_get(specialist_id=_specialist(specialist_id).id)


@blp.route("/<uuid:specialist_id>/booking-rules", methods=["PUT"])
@blp.arguments(BookingRulesSchema)
@blp.response(200, BookingRulesSchema)
def put_booking_rules(data, specialist_id):
    """Change any subset of the rules (the specialist themself or an admin); those left out keep
    their values. 400 with the fields when a value is out of range or the window exceeds
    MAX_BOOKING_AHEAD_DAYS."""
    rules = booking_rules_update(actor=current_user, specialist_id=_specialist(specialist_id).id, **data)
    db.session.commit()
    return rules
