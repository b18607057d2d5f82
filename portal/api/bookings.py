"""Bookings: /api/v1/bookings (list, book, read), scoped by the policies."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint, PageArgs, page_of, page_schema, paginate_args
from portal.api.schedule import path_uuid
from portal.extensions import db
from portal.models import BOOKING_STATUSES, Booking, User
from portal.services import Forbidden, NotFound
from portal.services.bookings import booking_create


def utc_midnight(day) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


blp = Blueprint("api_bookings", __name__, url_prefix="/api/v1/bookings", description="Bookings")


class BookingSchema(ma.Schema):
    id = ma.fields.UUID()
    patient_id = ma.fields.UUID()
    specialist_id = ma.fields.UUID()
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    status = ma.fields.String()
    price = ma.fields.Decimal(places=2, as_string=True)
    currency = ma.fields.String()
    recurring_booking_id = ma.fields.UUID(allow_none=True)
    attention_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()


BookingPageSchema = page_schema(BookingSchema)


class BookingCreateSchema(ma.Schema):
    specialist_id = ma.fields.UUID(required=True)
    starts_at = ma.fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    patient_id = ma.fields.UUID(load_default=None, metadata={"description": "Admins only: book for a patient"})


class BookingListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(BOOKING_STATUSES))
    from_ = ma.fields.Date(data_key="from", load_default=None, metadata={"description": "Starts on or after (UTC date)"})
    to = ma.fields.Date(load_default=None, metadata={"description": "Starts on or before (UTC date)"})
    specialist_id = ma.fields.UUID(load_default=None)
    recurring_booking_id = ma.fields.UUID(load_default=None)

    @ma.validates_schema
    def range_is_sane(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ma.ValidationError("Must not be before 'from'.", "to")


@blp.route("", methods=["GET"])
@blp.arguments(BookingListArgs, location="query")
@blp.response(200, BookingPageSchema)
def list_bookings(args):
    """The caller's bookings (admins: all), filtered and paginated."""
    query = sa.select(Booking).where(policies.visible(Booking, current_user))
    if args["status"]:
        query = query.where(Booking.status == args["status"])
    if args["from_"]:
        query = query.where(Booking.starts_at >= utc_midnight(args["from_"]))
    if args["to"]:
        query = query.where(Booking.starts_at < utc_midnight(args["to"] + timedelta(days=1)))
    for key in ("specialist_id", "recurring_booking_id"):
        if args[key]:
            query = query.where(getattr(Booking, key) == args[key])
    return page_of(paginate_args(query.order_by(Booking.starts_at, Booking.id), args))


@blp.route("", methods=["POST"])
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")  # SLOT_UNAVAILABLE: taken, blocked, outside hours or past
def create_booking(data):
    """Book a slot. 409 SLOT_UNAVAILABLE when it is taken, blocked or outside hours."""
    patient = current_user
    if data["patient_id"] and data["patient_id"] != current_user.id:
        patient = db.session.get(User, data["patient_id"])
        if patient is None or patient.role != "patient":
            raise NotFound("No such patient.")
    if not policies.can("create", current_user, Booking(patient_id=patient.id)):
        raise Forbidden("Only patients (or admins on their behalf) can book.")
    booking = booking_create(actor=current_user, patient=patient, specialist_id=data["specialist_id"],
                             starts_at=data["starts_at"])
    db.session.commit()
    return booking


@blp.route("/<booking_id>", methods=["GET"])
@blp.response(200, BookingSchema)
def get_booking(booking_id):
    return policies.load(Booking, path_uuid(booking_id, "booking_id"), current_user)
