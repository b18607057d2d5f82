"""Specialists, their free slots, weekly hours and rates: /api/v1/specialists."""
from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask_login import current_user

from portal import clock, policies
from portal.api.common import Blueprint, BoundedDate, BoundedDateTime, Money, PageArgs, Text, page_of, page_schema
from portal.domain.inputs import MAX_PRICE
from portal.domain.zones import zone_of
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Role, User
from portal.selectors.availability import free_slots, rate_on
from portal.selectors.hours import rates_of, working_hours_of
from portal.selectors.public_cache import public_free_slots
from portal.selectors.specialists import specialist_get, specialists_search
from portal.services.bookings import bookable_service
from portal.services.hours import HoursInput, rate_add, working_hours_replace
from portal.web.blueprints import public_read

blp = Blueprint("api_specialists", __name__, url_prefix="/api/v1/specialists",
                description="Specialists, free slots, weekly hours and rates")

MAX_SLOT_DAYS = 62


class SpecialistSchema(ma.Schema):
    id = ma.fields.UUID()
    display_name = ma.fields.String()
    timezone = ma.fields.String()
    title = ma.fields.String(attribute="specialist_profile.title")


SpecialistPageSchema = page_schema(SpecialistSchema)


class SpecialistQuery(PageArgs):
    q = Text(load_default=None, max_length=120,
                         metadata={"description": "Part of the specialist's name"})


class DateRangeArgs(ma.Schema):
    from_ = BoundedDate(data_key="from", required=True)
    to = BoundedDate(required=True)
    service_id = ma.fields.UUID(load_default=None, metadata={
        "description": "Slots of this service's length (default: the specialist's default service)"})

    @ma.validates_schema
    def range_is_sane(self, data, **kwargs):
        if data["to"] < data["from_"]:
            raise ma.ValidationError("Must not be before 'from'.", "to")
        if (data["to"] - data["from_"]).days >= MAX_SLOT_DAYS:
            raise ma.ValidationError(f"At most {MAX_SLOT_DAYS} days at a time.", "to")


class SlotSchema(ma.Schema):
    starts_at = BoundedDateTime()
    ends_at = BoundedDateTime()


class HoursSchema(ma.Schema):
    weekday = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=6),
                                metadata={"description": "Monday 0 ... Sunday 6"})
    start = ma.fields.Time(required=True, format="%H:%M", attribute="start_time")
    end = ma.fields.Time(required=True, format="%H:%M", attribute="end_time")


class RateSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    duration_minutes = ma.fields.Integer(required=True, validate=ma.validate.Range(min=5, max=480))
    price = Money(required=True, minimum=0, maximum=MAX_PRICE)
    currency = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z]{3}$"))
    effective_from = BoundedDate(required=True)
    created_at = BoundedDateTime(dump_only=True)


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return policies.load(User, specialist.id, current_user)


@blp.route("")
@public_read
@blp.doc(security=[])
@blp.arguments(SpecialistQuery, location="query")
@blp.response(200, SpecialistPageSchema)
def list_specialists(args):
    """Active specialists, by name."""
    return page_of(specialists_search(viewer=current_user, q=args["q"] or "", page=args["page"],
                                     per_page=args["per_page"]))


@blp.route("/<uuid:specialist_id>/slots")
@public_read
@blp.doc(security=[])
@blp.arguments(DateRangeArgs, location="query")
@blp.response(200, SlotSchema(many=True))
def slots(args, specialist_id):
    """Free slots between two dates (the specialist's local dates), at the service's current length,
    on the specialist's start-time grid, whose session plus buffers clears other bookings',
    that the specialist's booking rules allow: none sooner than the minimum notice or beyond
    the booking window; for a patient, none at times they are booked elsewhere, and none at
    all once they hold as many upcoming sessions with this specialist as allowed."""
    specialist = _specialist(specialist_id)
    service = bookable_service(specialist, args["service_id"])
    rate = rate_on(specialist.id, clock.today(zone_of(specialist).key), service)
    if rate is None:
        return []
    duration, now = timedelta(minutes=rate.duration_minutes), clock.now()
    if current_user.is_authenticated and current_user.role == Role.PATIENT:
        found = free_slots(specialist, args["from_"], args["to"], now=now, duration=duration,
                           patient_id=current_user.id)
    else:
        found = public_free_slots(specialist, args["from_"], args["to"], now=now, duration=duration)
    return [{"starts_at": s, "ends_at": e} for s, e in found]


@blp.route("/<uuid:specialist_id>/working-hours", methods=["GET"])
@blp.response(200, HoursSchema(many=True))
def get_hours(specialist_id):
    """Weekly hours in the specialist's own time zone."""
    return working_hours_of(_specialist(specialist_id).id)


@blp.route("/<uuid:specialist_id>/working-hours", methods=["PUT"])
@blp.arguments(HoursSchema(many=True))
@blp.response(200, HoursSchema(many=True))
def put_hours(ranges, specialist_id):
    """Replace the whole week (the specialist themself or an admin)."""
    specialist = _specialist(specialist_id)
    rows = working_hours_replace(actor=current_user, specialist_id=specialist.id, ranges=[
        HoursInput(r["weekday"], r["start_time"], r["end_time"]) for r in ranges])
    db.session.commit()
    return rows


@blp.route("/<uuid:specialist_id>/rates", methods=["GET"])
@blp.response(200, RateSchema(many=True))
def get_rates(specialist_id):
    """Every rate, newest first; the current one is the latest effective_from not after today."""
    return rates_of(_specialist(specialist_id).id)


@blp.route("/<uuid:specialist_id>/rates", methods=["POST"])
@blp.arguments(RateSchema)
@blp.response(201, RateSchema)
def post_rate(data, specialist_id):
    """Add a rate, current from effective_from (the specialist themself or an admin)."""
    specialist = _specialist(specialist_id)
    rate = rate_add(actor=current_user, specialist_id=specialist.id, **data)
    db.session.commit()
    return rate
