"""Intake and consent: a specialist's questionnaire, a patient's answers (health data), the
clinic's terms and the caller's consents."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint, BoundedDateTime
from portal.errors import NotFound
from portal.extensions import db
from portal.models import IntakeForm, IntakeResponse, Role, User
from portal.selectors.intake import consents_of, current_terms, intake_form_of, intake_response_of
from portal.selectors.specialists import specialist_get
from portal.services.intake import consent_give, consent_withdraw, intake_form_set, intake_response_set, terms_set
from portal.web.blueprints import public_read

blp = Blueprint("api_intake", __name__, url_prefix="/api/v1",
                description="Intake questionnaires and answers (health data), the clinic's terms, consents")


class QuestionSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "Stable key of the answer (made from the position if absent)"})
    kind = ma.fields.String(metadata={"enum": ["short_text", "long_text", "single_choice", "multiple_choice",
                                               "yes_no", "date"]})
    label = ma.fields.String()
    required = ma.fields.Boolean()
    options = ma.fields.List(ma.fields.String(), metadata={"description": "Choice questions only"})


class IntakeFormSchema(ma.Schema):
    specialist_id = ma.fields.UUID(dump_only=True)
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema), dump_only=True)
    updated_at = BoundedDateTime(dump_only=True, allow_none=True)


class IntakeFormInSchema(ma.Schema):
    """Checked by the service (clear errors per question)."""

    questions = ma.fields.Raw(required=True, metadata={"description": "The ordered questions"})


class IntakeResponseSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    patient_id = ma.fields.UUID(dump_only=True)
    specialist_id = ma.fields.UUID(dump_only=True)
    answers = ma.fields.Dict(dump_only=True, metadata={"description": "Keyed by question id"})
    submitted_at = BoundedDateTime(dump_only=True)


class IntakeResponseInSchema(ma.Schema):
    answers = ma.fields.Raw(required=True, metadata={"description": "Keyed by question id"})


class IntakeResponseArgs(ma.Schema):
    patient_id = ma.fields.UUID(load_default=None, metadata={
        "description": "The specialist and admins: whose answers (patients read their own)"})


class TermsSchema(ma.Schema):
    version = ma.fields.Integer(dump_only=True, allow_none=True, metadata={"description": "null: none set"})
    body = ma.fields.String(required=True, allow_none=True)
    created_at = BoundedDateTime(dump_only=True, allow_none=True)


class ConsentSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    patient_id = ma.fields.UUID(dump_only=True)
    kind = ma.fields.String(required=True, metadata={"enum": ["terms", "recording"]})
    specialist_id = ma.fields.UUID(load_default=None, allow_none=True,
                                   metadata={"description": "Required for recording"})
    terms_version = ma.fields.Integer(dump_only=True, allow_none=True)
    given_at = BoundedDateTime(dump_only=True)
    withdrawn_at = BoundedDateTime(dump_only=True, allow_none=True)


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return specialist


@blp.route("/specialists/<uuid:specialist_id>/intake-form", methods=["GET"])
@blp.response(200, IntakeFormSchema)
def get_intake_form(specialist_id):
    """The specialist's questionnaire (no questions: nothing to fill in)."""
    specialist = _specialist(specialist_id)
    form = intake_form_of(specialist.id)
    if form is None:
        return {"specialist_id": specialist.id, "questions": [], "updated_at": None}
    return policies.load(IntakeForm, form.id, current_user)


@blp.route("/specialists/<uuid:specialist_id>/intake-form", methods=["PUT"])
@blp.arguments(IntakeFormInSchema)
@blp.response(200, IntakeFormSchema)
def put_intake_form(data, specialist_id):
    """Replace the questionnaire (the specialist themself or an admin): ordered questions of kind
    short_text, long_text, single_choice, multiple_choice (with options), yes_no or date, each
    required or not."""
    form = intake_form_set(actor=current_user, specialist_id=specialist_id, questions=data["questions"])
    db.session.commit()
    return form


@blp.route("/specialists/<uuid:specialist_id>/intake-response", methods=["GET"])
@blp.arguments(IntakeResponseArgs, location="query")
@blp.response(200, IntakeResponseSchema)
def get_intake_response(args, specialist_id):
    """A patient's answers: the patient's own; the specialist and admins name the patient
    (`patient_id`). 404 when there are none (or they are not the caller's to read)."""
    specialist = _specialist(specialist_id)
    patient_id = args["patient_id"] if current_user.role != Role.PATIENT else current_user.id
    if patient_id is None:
        raise NotFound("Name the patient (patient_id).")
    response = intake_response_of(patient_id, specialist.id)
    if response is None:
        raise NotFound("No answers.")
    return policies.load(IntakeResponse, response.id, current_user, missing="No answers.")


@blp.route("/specialists/<uuid:specialist_id>/intake-response", methods=["PUT"])
@blp.arguments(IntakeResponseInSchema)
@blp.response(200, IntakeResponseSchema)
def put_intake_response(data, specialist_id):
    """The patient's own answers (replacing earlier ones); every required question answered."""
    response = intake_response_set(actor=current_user, specialist_id=specialist_id, answers=data["answers"])
    db.session.commit()
    return response


@blp.route("/terms", methods=["GET"])
@public_read
@blp.doc(security=[])
@blp.response(200, TermsSchema)
def get_terms():
    """The clinic's current terms (version null: none are set, nothing to agree to)."""
    return current_terms() or {"version": None, "body": None, "created_at": None}


@blp.route("/terms", methods=["POST"])
@blp.arguments(TermsSchema)
@blp.response(201, TermsSchema)
def post_terms(data):
    """Admins: a new version of the terms; patients are asked to agree again at their next booking."""
    terms = terms_set(actor=current_user, body=data["body"])
    db.session.commit()
    return terms


@blp.route("/me/consents", methods=["GET"])
@blp.response(200, ConsentSchema(many=True))
def list_consents():
    """The caller's consents, withdrawn ones included."""
    return consents_of(current_user.id)


@blp.route("/me/consents", methods=["POST"])
@blp.arguments(ConsentSchema)
@blp.response(201, ConsentSchema)
def post_consent(data):
    """Agree to the current terms, or to being recorded by a specialist (`specialist_id`)."""
    consent = consent_give(actor=current_user, kind=data["kind"], specialist_id=data["specialist_id"])
    db.session.commit()
    return consent


@blp.route("/me/consents/<uuid:consent_id>", methods=["DELETE"])
@blp.response(200, ConsentSchema)
def delete_consent(consent_id):
    """Withdraw a consent (it stays listed, with withdrawn_at): later recordings are refused."""
    consent = consent_withdraw(actor=current_user, consent_id=consent_id)
    db.session.commit()
    return consent


