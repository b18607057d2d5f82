"""A patient's rights over their record: /api/v1/me/export, /api/v1/me/access-log,
/api/v1/me/erasure-request(s); for admins, /api/v1/erasure-requests and a patient's access log."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.common import Blueprint, BoundedDateTime, PageArgs, Text, page_of, page_schema
from portal.domain.inputs import MAX_REASON
from portal.errors import Forbidden
from portal.extensions import db
from portal.models import ERASURE_STATUSES, Role
from portal.policies import is_admin
from portal.selectors.export import EXPORT_SECTIONS
from portal.selectors.rights import access_log_page, erasure_requests_of, erasure_requests_page, patient_for_access_log
from portal.services.data_export import data_export
from portal.services.erasure import erasure_carry_out_and_commit, erasure_request_create, erasure_request_refuse
from portal.web.transactions import writes_on_get

blp = Blueprint("api_my_record", __name__, url_prefix="/api/v1/me",
                description="A patient's rights over their own record: their data, who read it, erasure")
admin_blp = Blueprint("api_erasure_requests", __name__, url_prefix="/api/v1",
                      description="Erasure requests and patients' access logs (admins only)")

PATIENTS, ADMINS = (Role.PATIENT,), (Role.ADMIN,)


def _patient_only() -> None:
    if current_user.role != Role.PATIENT:
        raise Forbidden("This is for patients' own records.")


def _admin_only() -> None:
    if not is_admin(current_user):
        raise Forbidden("Only administrators handle erasure requests and access logs.")


# One field per section of the document (portal.selectors.export.EXPORT_SECTIONS).
ExportSchema = ma.Schema.from_dict({
    "format": ma.fields.String(), "generated_at": ma.fields.String(),
    **{key: ma.fields.Raw(metadata={"description": f"The {key.replace('_', ' ')} section"})
       for key, _ in EXPORT_SECTIONS},
}, name="Export")


class AccessRowSchema(ma.Schema):
    reader = ma.fields.Function(lambda row: row.reader.display_name if row.reader else None, allow_none=True)
    reader_role = ma.fields.String()
    record_type = ma.fields.String(metadata={"enum": ["session_note", "meeting_recording", "intake_response"]})
    record_id = ma.fields.UUID()
    booking_id = ma.fields.UUID(allow_none=True)
    session_starts_at = ma.fields.Function(lambda row: row.booking.starts_at.isoformat() if row.booking else None,
                                           allow_none=True)
    accessed_at = BoundedDateTime()


AccessPageSchema = page_schema(AccessRowSchema)


class ErasureRequestSchema(ma.Schema):
    id = ma.fields.UUID()
    patient_id = ma.fields.UUID()
    status = ma.fields.String(metadata={"enum": list(ERASURE_STATUSES)})
    requested_at = BoundedDateTime()
    decided_at = BoundedDateTime(allow_none=True)
    refusal_reason = ma.fields.String(allow_none=True)


ErasurePageSchema = page_schema(ErasureRequestSchema)


class ErasureListArgs(PageArgs):
    status = ma.fields.String(load_default="pending", validate=ma.validate.OneOf(ERASURE_STATUSES))


class RefuseSchema(ma.Schema):
    reason = Text(required=True, max_length=MAX_REASON, multiline=True,
                  metadata={"description": "Why, in words the patient reads on their account page"})


class CarriedOutSchema(ErasureRequestSchema):
    objects_deleted = ma.fields.Integer(metadata={"description": "Stored recording objects deleted"})
    storage_errors = ma.fields.Integer()


@blp.route("/export")
@writes_on_get  # the export is audited
@blp.response(200, ExportSchema, description="The patient's data as one JSON document: profile, bookings "
              "with cancellations and status history, series, package enrolments, session notes, recordings' "
              "metadata, the access log and erasure requests.")
def export():
    """Download my data (patients). Audited; the document itself is never logged."""
    _patient_only()
    document = data_export(actor=current_user)
    db.session.commit()
    return document


export.allowed_roles = PATIENTS


@blp.route("/access-log")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AccessPageSchema)
def my_access_log(args):
    """Who has read my session notes and recordings (other than me), newest first."""
    _patient_only()
    return page_of(access_log_page(viewer=current_user, patient_id=current_user.id, page=args["page"],
                                   per_page=args["per_page"]))


my_access_log.allowed_roles = PATIENTS


@blp.route("/erasure-request", methods=["POST"])
@blp.response(201, ErasureRequestSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")  # ERASURE_PENDING: one is waiting already
def request_erasure():
    """Ask the clinic to erase my account (patients). One pending request at a time."""
    _patient_only()
    erasure = erasure_request_create(actor=current_user)
    db.session.commit()
    return erasure


request_erasure.allowed_roles = PATIENTS


@blp.route("/erasure-requests")
@blp.response(200, ErasureRequestSchema(many=True))
def my_erasure_requests():
    """My erasure requests, newest first, with a refusal's reason."""
    _patient_only()
    return erasure_requests_of(viewer=current_user, patient_id=current_user.id)


my_erasure_requests.allowed_roles = PATIENTS


@admin_blp.route("/erasure-requests")
@admin_blp.arguments(ErasureListArgs, location="query")
@admin_blp.response(200, ErasurePageSchema)
def erasure_requests(args):
    """Erasure requests (admins): the pending ones by default, oldest first."""
    _admin_only()
    return page_of(erasure_requests_page(viewer=current_user, status=args["status"], page=args["page"],
                                         per_page=args["per_page"]))


erasure_requests.allowed_roles = ADMINS


@admin_blp.route("/erasure-requests/<uuid:request_id>/carry-out", methods=["POST"])
@admin_blp.response(200, CarriedOutSchema)
@admin_blp.alt_response(409, response="DEFAULT_ERROR")  # ERASURE_DECIDED: carried out or refused already
def carry_out_erasure(request_id):
    """Erase the patient (admins): future bookings cancelled by the clinic, series ended, sessions and
    tokens revoked, recordings and stored mails deleted, name and e-mail replaced, sign-in impossible.
    Clinical notes and booking history stay, detached, for CLINICAL_RECORD_RETENTION_YEARS."""
    _admin_only()
    erasure, stored = erasure_carry_out_and_commit(actor=current_user, request_id=request_id)
    fields = ("id", "patient_id", "status", "requested_at", "decided_at", "refusal_reason")
    return {**{name: getattr(erasure, name) for name in fields}, "objects_deleted": stored["objects_deleted"],
            "storage_errors": stored["errors"]}


carry_out_erasure.allowed_roles = ADMINS


@admin_blp.route("/erasure-requests/<uuid:request_id>/refuse", methods=["POST"])
@admin_blp.arguments(RefuseSchema)
@admin_blp.response(200, ErasureRequestSchema)
@admin_blp.alt_response(409, response="DEFAULT_ERROR")  # ERASURE_DECIDED
def refuse_erasure(data, request_id):
    """Refuse an erasure request (admins) with a reason the patient sees."""
    _admin_only()
    erasure = erasure_request_refuse(actor=current_user, request_id=request_id, reason=data["reason"])
    db.session.commit()
    return erasure


refuse_erasure.allowed_roles = ADMINS


@admin_blp.route("/patients/<uuid:patient_id>/access-log")
@admin_blp.arguments(PageArgs, location="query")
@admin_blp.response(200, AccessPageSchema)
def patient_access_log(args, patient_id):
    """Who has read a patient's session notes and recordings (admins), newest first."""
    _admin_only()
    patient = patient_for_access_log(viewer=current_user, patient_id=patient_id)
    return page_of(access_log_page(viewer=current_user, patient_id=patient.id, page=args["page"],
                                   per_page=args["per_page"]))


patient_access_log.allowed_roles = ADMINS
