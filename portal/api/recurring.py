"""/api/v1/recurring-bookings: a patient's standing series with a specialist.

Patients manage their own, specialists see the series with them, admins all
(portal.policies.RecurringPolicy). Bookings made from a series carry its id
as recurring_booking_id in the bookings API."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint, BoundedDate, BoundedDateTime, PageArgs, Text, page_of, page_schema
from portal.domain.inputs import MAX_REASON
from portal.errors import Forbidden, NotFound
from portal.extensions import db
from portal.models import RecurringBooking, Role, User
from portal.selectors.recurring import recurring_page
from portal.services import recurring as service

blp = Blueprint("api_recurring", __name__, url_prefix="/api/v1/recurring-bookings",
                description="Recurring series (weekly, biweekly, monthly)")


class RecurringSchema(ma.Schema):
    id = ma.fields.UUID()
    user_id = ma.fields.UUID()
    specialist_id = ma.fields.UUID()
    frequency = ma.fields.String()
    start_date = BoundedDate()
    end_date = BoundedDate(allow_none=True)
    time_of_day = ma.fields.Time(format="%H:%M")
    service_id = ma.fields.UUID(allow_none=True, metadata={"description": "The service of every session"})
    is_active = ma.fields.Boolean()
    status = ma.fields.Function(service.series_status)
    paused_at = BoundedDateTime(allow_none=True)
    next_booking_date = BoundedDate(allow_none=True)
    last_generated_date = BoundedDate(allow_none=True)
    created_at = BoundedDateTime()


RecurringPageSchema = page_schema(RecurringSchema)


class SessionSchema(ma.Schema):
    id = ma.fields.UUID()
    occurrence_date = BoundedDate()
    starts_at = BoundedDateTime()
    ends_at = BoundedDateTime()
    status = ma.fields.String()


class SkippedSchema(ma.Schema):
    occurrence_date = BoundedDate()
    reason = ma.fields.String()


class RecurringChangeSchema(RecurringSchema):
    """A series with what the change did: the sessions it booked, those it could not (and why),
    and those it cancelled."""

    booked = ma.fields.List(ma.fields.Nested(SessionSchema))
    skipped = ma.fields.List(ma.fields.Nested(SkippedSchema))
    cancelled = ma.fields.List(ma.fields.Nested(SessionSchema))


class CancelFollowingSchema(ma.Schema):
    from_date = BoundedDate(required=True)
    reason = Text(required=True, max_length=MAX_REASON, multiline=True)


class RecurringCreateSchema(ma.Schema):
    specialist_id = ma.fields.UUID(required=True)
    frequency = ma.fields.String(required=True, validate=ma.validate.OneOf(service.FREQUENCIES))
    start_date = BoundedDate(required=True)
    end_date = BoundedDate(load_default=None, allow_none=True)
    time_of_day = ma.fields.Time(load_default=None, allow_none=True,
                                 metadata={"description": "Local time in the specialist's zone; 10:00 if left out."})
    user_id = ma.fields.UUID(load_default=None, metadata={"description": "Admins only: the patient to book."})
    service_id = ma.fields.UUID(load_default=None, metadata={
        "description": "The service of every session (default: the specialist's default service)"})


class RecurringPatchSchema(ma.Schema):
    action = ma.fields.String(validate=ma.validate.OneOf(("pause", "resume", "end")))
    end_date = BoundedDate(allow_none=True)
    is_active = ma.fields.Boolean(metadata={"description": "The spec's column: false pauses, true resumes."})

    @ma.validates_schema
    def _one_switch(self, data, **kwargs):
        if "is_active" in data and "action" in data:
            raise ma.ValidationError("Send either action or is_active, not both.", "is_active")


class _ChangeView:
    """A SeriesChange read as the series itself plus its booked / skipped / cancelled lists."""

    def __init__(self, change: service.SeriesChange):
        self._change = change

    def __getattr__(self, name):
        if name in ("booked", "skipped", "cancelled"):
            return getattr(self._change, name)
        return getattr(self._change.series, name)


def _change(change: service.SeriesChange) -> _ChangeView:
    return _ChangeView(change)


def _patient_for(user_id) -> User:
    if user_id is None or user_id == current_user.id:
        return current_user
    if not policies.is_admin(current_user):
        raise Forbidden("Only admins may create a series for someone else.")
    patient = policies.load(User, user_id, current_user, missing="No such patient.",
                            fields={"user_id": "No such patient."})
    if patient.role != Role.PATIENT:
        raise NotFound("No such patient.", fields={"user_id": "No such patient."})
    return patient


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RecurringPageSchema)
def list_series(args):
    return page_of(recurring_page(viewer=current_user, page=args["page"], per_page=args["per_page"]))


@blp.route("", methods=["POST"])
@blp.arguments(RecurringCreateSchema)
@blp.response(201, RecurringChangeSchema)
def create_series(data):
    """Create a series and book its occurrences inside the horizon at once."""
    change = service.recurring_create(
        actor=current_user, patient=_patient_for(data.pop("user_id")), **data)
    db.session.commit()
    return _change(change)


@blp.route("/<uuid:series_id>")
@blp.response(200, RecurringSchema)
def get_series(series_id):
    return policies.load(RecurringBooking, series_id, current_user)


@blp.route("/<uuid:series_id>", methods=["PATCH"])
@blp.arguments(RecurringPatchSchema)
@blp.response(200, RecurringChangeSchema)
def update_series(data, series_id):
    series = policies.load(RecurringBooking, series_id, current_user, action="update")
    change = service.SeriesChange(series)
    if "end_date" in data:
        change = service.recurring_set_end_date(actor=current_user, series=series, end_date=data["end_date"])
    name = data.get("action")
    if "is_active" in data:
        name = "resume" if data["is_active"] else "pause"
    action = {"pause": service.recurring_pause, "resume": service.recurring_resume,
              "end": service.recurring_end}.get(name)
    if action:
        acted = action(actor=current_user, series=series)
        acted.cancelled = change.cancelled + acted.cancelled
        change = acted
    db.session.commit()
    return _change(change)


@blp.route("/<uuid:series_id>/cancel-following", methods=["POST"])
@blp.arguments(CancelFollowingSchema)
@blp.response(200, RecurringChangeSchema)
def cancel_following(data, series_id):
    """Cancel this and following: end the series before from_date, cancel its sessions from then on."""
    series = policies.load(RecurringBooking, series_id, current_user, action="update")
    change = service.recurring_cancel_following(actor=current_user, series=series, **data)
    db.session.commit()
    return _change(change)


@blp.route("/<uuid:series_id>", methods=["DELETE"])
@blp.response(204)
def delete_series(series_id):
    series = policies.load(RecurringBooking, series_id, current_user, action="delete")
    service.recurring_delete(actor=current_user, series=series)
    db.session.commit()
