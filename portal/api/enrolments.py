"""/api/v1/package-enrolments: patients take packages, staff mark them paid."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.common import Blueprint, BoundedDate, BoundedDateTime, Money, PageArgs, page_of, page_schema
from portal.extensions import db
from portal.models import ENROLMENT_STATUSES
from portal.selectors.enrolments import enrolments_page
from portal.services.enrolments import enrolment_cancel, enrolment_load, enrolment_mark_paid, enrolment_take

blp = Blueprint("api_enrolments", __name__, url_prefix="/api/v1/package-enrolments",
                description="Patients' package enrolments and their session credits")


class EnrolmentSchema(ma.Schema):
    id = ma.fields.UUID()
    package_id = ma.fields.UUID(allow_none=True)
    patient_id = ma.fields.UUID()
    specialist_id = ma.fields.UUID()
    package_name = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(ENROLMENT_STATUSES)})
    credits_total = ma.fields.Integer()
    credits_used = ma.fields.Integer()
    credits_remaining = ma.fields.Integer()
    price = Money()
    currency = ma.fields.String()
    discount_percentage = Money()
    validity_days = ma.fields.Integer(allow_none=True)
    payment_reference = ma.fields.String(allow_none=True)
    paid_at = BoundedDateTime(allow_none=True)
    starts_on = BoundedDate(allow_none=True)
    expires_on = BoundedDate(allow_none=True, metadata={"description": "Last day credits can be used"})
    created_at = BoundedDateTime()


EnrolmentPageSchema = page_schema(EnrolmentSchema)


class EnrolmentCreateSchema(ma.Schema):
    package_id = ma.fields.UUID(required=True)


class PaidSchema(ma.Schema):
    reference = ma.fields.Raw(required=True, metadata={"description": "The payment's reference (1-120 characters)"})


class EnrolmentListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(ENROLMENT_STATUSES))
    specialist_id = ma.fields.UUID(load_default=None)
    patient_id = ma.fields.UUID(load_default=None)


@blp.route("")
@blp.arguments(EnrolmentListArgs, location="query")
@blp.response(200, EnrolmentPageSchema)
def list_enrolments(args):
    """The caller's enrolments (specialists: those for their packages; admins: all)."""
    return page_of(enrolments_page(viewer=current_user, **args))


@blp.route("", methods=["POST"])
@blp.arguments(EnrolmentCreateSchema)
@blp.response(201, EnrolmentSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def take_package(data):
    """Take an active package: an enrolment awaiting payment, its terms copied now."""
    enrolment = enrolment_take(actor=current_user, package_id=data["package_id"])
    db.session.commit()
    return enrolment


@blp.route("/<uuid:enrolment_id>")
@blp.response(200, EnrolmentSchema)
def get_enrolment(enrolment_id):
    return enrolment_load(actor=current_user, enrolment_id=enrolment_id)


@blp.route("/<uuid:enrolment_id>/paid", methods=["POST"])
@blp.arguments(PaidSchema)
@blp.response(200, EnrolmentSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")  # INVALID_STATE: not awaiting payment
def mark_paid(data, enrolment_id):
    """Admin or the package's specialist: payment received, the enrolment starts today."""
    enrolment = enrolment_mark_paid(actor=current_user, enrolment_id=enrolment_id, reference=data["reference"])
    db.session.commit()
    return enrolment


@blp.route("/<uuid:enrolment_id>/cancel", methods=["POST"])
@blp.response(200, EnrolmentSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def cancel(enrolment_id):
    """Admins: cancel an enrolment that was never paid."""
    enrolment = enrolment_cancel(actor=current_user, enrolment_id=enrolment_id)
    db.session.commit()
    return enrolment
