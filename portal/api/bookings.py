"""Bookings: /api/v1/bookings (list, book, read), scoped by the policies."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint, BoundedDate, BoundedDateTime, Money, PageArgs, page_of, page_schema
from portal.models import BOOKING_STATUSES, Booking
from portal.models.transactions import commit_as_written
from portal.selectors.bookings import bookings_page
from portal.selectors.meetings import booking_location
from portal.services.bookings import booking_create, booking_patient
from portal.web.rate_limits import booking_rate_limited, too_many_response

blp = Blueprint("api_bookings", __name__, url_prefix="/api/v1/bookings", description="Bookings")


class BookingSchema(ma.Schema):
    id = ma.fields.UUID()
    patient_id = ma.fields.UUID()
    specialist_id = ma.fields.UUID()
    starts_at = BoundedDateTime()
    ends_at = BoundedDateTime()
    status = ma.fields.String()
    price = Money()
    currency = ma.fields.String()
    recurring_booking_id = ma.fields.UUID(allow_none=True)
    service_id = ma.fields.UUID(allow_none=True, metadata={"description": "The service booked"})
    package_enrolment_id = ma.fields.UUID(allow_none=True,
                                          metadata={"description": "The enrolment whose credit paid for it"})
    attention_reason = ma.fields.String(allow_none=True)
    created_at = BoundedDateTime()


BookingPageSchema = page_schema(BookingSchema)


class CancellationSchema(ma.Schema):
    """The spec's booking_cancellations row, and who cancelled in the parties' words."""

    id = ma.fields.UUID()
    cancelled_by = ma.fields.UUID()
    cancelled_by_role = ma.fields.String(attribute="party",
                                         metadata={"description": "patient, specialist or staff"})
    reason = ma.fields.String()
    cancellation_policy_applied = ma.fields.String()
    created_at = BoundedDateTime()


class LocationSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "in_person, video or phone"})
    url = ma.fields.String(metadata={"description": "video: the join link"})
    address = ma.fields.String(allow_none=True, metadata={"description": "in_person: where"})


class BookingDetailSchema(BookingSchema):
    cancellation = ma.fields.Nested(CancellationSchema, allow_none=True,
                                    metadata={"description": "Set when the booking was cancelled"})
    location = ma.fields.Method("_location", metadata={
        "description": "Where the session happens: {kind, url (video) | address (in_person)}; "
                       "the parties and admins only (else null)"})

    def _location(self, booking):
        if not policies.can_see_location(current_user, booking):
            return None
        location = booking_location(booking)
        return location and location.as_dict()


class BookingCreateSchema(ma.Schema):
    specialist_id = ma.fields.UUID(required=True)
    starts_at = BoundedDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    service_id = ma.fields.UUID(load_default=None, metadata={
        "description": "The specialist's service to book (default: their default service)"})
    patient_id = ma.fields.UUID(load_default=None, metadata={
        "description": "Staff only: the patient to book (an admin with any specialist, a specialist on "
                       "their own calendar)"})
    override_rules = ma.fields.Boolean(load_default=False, metadata={
        "description": "Staff only: book although the specialist's booking rules or buffers refuse (audited); "
                       "staff may always start off the grid"})
    use_package = ma.fields.Boolean(load_default=True, metadata={
        "description": "Draw a credit from the patient's usable package enrolment with this specialist "
                       "(default); false pays singly"})


class BookingListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(BOOKING_STATUSES))
    from_ = BoundedDate(data_key="from", load_default=None,
                           metadata={"description": "Starts on or after (UTC date)"})
    to = BoundedDate(load_default=None, metadata={"description": "Starts on or before (UTC date)"})
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
    return page_of(bookings_page(viewer=current_user, page=args["page"], per_page=args["per_page"],
                                status=args["status"], first=args["from_"], last=args["to"],
                                specialist_id=args["specialist_id"],
                                recurring_booking_id=args["recurring_booking_id"]))


@blp.route("", methods=["POST"])
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
@blp.alt_response(403, response="DEFAULT_ERROR")  # FORBIDDEN: another's calendar, another patient
@blp.alt_response(409, response="DEFAULT_ERROR")  # SLOT_UNAVAILABLE, or a booking rule's code
@blp.alt_response(429, response="DEFAULT_ERROR")  # RATE_LIMITED, with Retry-After
def create_booking(data):
    """Book a slot of a service: a patient for themself; an admin any patient with any specialist,
    a specialist any active patient on their own calendar (`patient_id`).
    409 SLOT_UNAVAILABLE when it is taken, blocked or outside hours;
    409 OFF_GRID when a patient's start is off the specialist's grid; 409 BUFFER when it
    touches another booking's buffer;
    409 BOOKING_LIMIT_REACHED, TOO_SHORT_NOTICE or OUTSIDE_BOOKING_WINDOW when the
    specialist's booking rules refuse it; 429 RATE_LIMITED over BOOKING_RATE_LIMIT."""
    patient = booking_patient(actor=current_user, patient_id=data["patient_id"],
                              specialist_id=data["specialist_id"])
    retry_after = booking_rate_limited(actor=current_user, patient=patient)
    if retry_after:
        return too_many_response(retry_after)
    booking = booking_create(actor=current_user, patient=patient, specialist_id=data["specialist_id"],
                             starts_at=data["starts_at"], override_rules=data["override_rules"],
                             use_package=data["use_package"], service_id=data["service_id"])
    commit_as_written()
    return booking


@blp.route("/<uuid:booking_id>", methods=["GET"])
@blp.response(200, BookingDetailSchema)
def get_booking(booking_id):
    """One booking the caller may see; a cancelled one says who cancelled, when and why."""
    return policies.load(Booking, booking_id, current_user)
