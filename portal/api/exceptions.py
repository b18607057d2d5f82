"""Availability exceptions: /api/v1/availability-exceptions (spec section 6).

Everyone signed in may read them (for availability checks); the specialist
(own) and admins may create, change and delete them. Active bookings an
exception overlaps are kept and flagged (affected="keep", the default) or
cancelled (affected="cancel" with cancel_reason); their ids are returned."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint, BoundedDate, BoundedDateTime, PageArgs, Text, page_of, page_schema
from portal.domain.inputs import MAX_REASON
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import EXCEPTION_REASONS
from portal.selectors.hours import exceptions_page
from portal.services.hours import (
    AFFECTED_CHOICES,
    ExceptionInput,
    exception_create,
    exception_delete,
    exception_update,
)

blp = Blueprint("api_exceptions", __name__, url_prefix="/api/v1/availability-exceptions",
                description="Specialist availability exceptions")


class ExceptionSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    specialist_id = ma.fields.UUID(load_default=None, metadata={"description": "Defaults to the caller"})
    exception_date = BoundedDate(required=True)
    is_available = ma.fields.Boolean(load_default=False)
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(EXCEPTION_REASONS), allow_none=True,
                              metadata={"description": "null for callers other than the specialist and admins"})
    all_day = ma.fields.Boolean(load_default=True)
    start_time = ma.fields.Time(format="%H:%M", load_default=None, allow_none=True)
    end_time = ma.fields.Time(format="%H:%M", load_default=None, allow_none=True)
    created_at = BoundedDateTime(dump_only=True)

    @ma.validates_schema
    def times_are_sane(self, data, **kwargs):
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            raise ma.ValidationError("Must be after start_time.", "end_time")


class AffectedArgs(ma.Schema):
    affected = ma.fields.String(load_default="keep", validate=ma.validate.OneOf(AFFECTED_CHOICES))
    cancel_reason = Text(load_default=None, max_length=MAX_REASON, multiline=True)


class ExceptionCreateSchema(ExceptionSchema, AffectedArgs):
    pass


class ExceptionPatchSchema(ExceptionSchema, AffectedArgs):
    """Any subset of the fields (loaded with partial=True)."""


class ExceptionResultSchema(ExceptionSchema):
    affected_booking_ids = ma.fields.List(ma.fields.UUID(), dump_only=True)


ExceptionPageSchema = page_schema(ExceptionSchema)


class ExceptionListArgs(PageArgs):
    specialist_id = ma.fields.UUID(load_default=None)
    from_ = BoundedDate(data_key="from", load_default=None)
    to = BoundedDate(load_default=None)
    is_available = ma.fields.Boolean(load_default=None)

    @ma.validates_schema
    def range_is_sane(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ma.ValidationError("Must not be before 'from'.", "to")


def _for_viewer(row) -> dict:
    """The exception as the caller may see it: its reason only for its specialist and admins."""
    values = {k: getattr(row, k) for k in ExceptionSchema().fields if hasattr(row, k)}
    if not policies.can_see_exception_reason(current_user, row):
        values["reason"] = None
    return values


def _result(row, bookings) -> dict:
    return {**{k: getattr(row, k) for k in ExceptionSchema().fields if hasattr(row, k)},
            "affected_booking_ids": [b.id for b in bookings]}


@blp.route("", methods=["GET"])
@blp.arguments(ExceptionListArgs, location="query")
@blp.response(200, ExceptionPageSchema)
def list_exceptions(args):
    """Exceptions, for availability checks. `reason` is null unless the caller is the
    exception's specialist or an admin: everyone else sees only that the time is unavailable."""
    results = exceptions_page(viewer=current_user, page=args["page"], per_page=args["per_page"],
                              specialist_id=args["specialist_id"], first=args["from_"], last=args["to"],
                              is_available=args["is_available"])
    return page_of(results, [_for_viewer(row) for row in results.items])


@blp.route("", methods=["POST"])
@blp.arguments(ExceptionCreateSchema)
@blp.response(201, ExceptionResultSchema)
def create_exception(data):
    specialist_id = data["specialist_id"] or current_user.id
    row, bookings = exception_create(
        actor=current_user, specialist_id=specialist_id,
        data=ExceptionInput(data["exception_date"], data["reason"], data["is_available"], data["all_day"],
                            data["start_time"], data["end_time"]),
        affected=data["affected"], cancel_reason=data["cancel_reason"])
    db.session.commit()
    return _result(row, bookings)


@blp.route("/<uuid:exception_id>", methods=["PATCH"])
@blp.arguments(ExceptionPatchSchema(partial=True))
@blp.response(200, ExceptionResultSchema)
def patch_exception(data, exception_id):
    affected = data.pop("affected", "keep")
    cancel_reason = data.pop("cancel_reason", None)
    if "specialist_id" in data:
        raise ServiceError("An exception cannot move to another specialist.",
                           fields={"specialist_id": "Cannot be changed."})
    row, bookings = exception_update(actor=current_user, exception_id=exception_id,
                                     changes=data, affected=affected, cancel_reason=cancel_reason)
    db.session.commit()
    return _result(row, bookings)


@blp.route("/<uuid:exception_id>", methods=["DELETE"])
@blp.response(204)
def delete_exception(exception_id):
    exception_delete(actor=current_user, exception_id=exception_id)
    db.session.commit()
    return ""
