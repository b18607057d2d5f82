"""Intake questionnaires, their answers, the clinic's terms and patients' consents.

Answers are health data: no log line, audit value or mail carries them (the audit row says a
questionnaire was answered, and which questions it asks; never what was answered)."""
from __future__ import annotations

import logging
import uuid

from portal import clock, policies
from portal.domain.meetings import Invalid, clean_answers, clean_questions
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import Consent, ConsentTerms, IntakeForm, IntakeResponse, Role, User
from portal.selectors.intake import current_terms, intake_form_of, intake_response_of, live_consent
from portal.selectors.specialists import specialist_get
from portal.services.audit import audit_record

log = logging.getLogger(__name__)


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return specialist


def intake_form_set(*, actor: User, specialist_id, questions) -> IntakeForm:
    """Replace the specialist's questionnaire by `questions` (ordered); an empty list asks nothing."""
    specialist = _specialist(specialist_id)
    form = intake_form_of(specialist.id) or IntakeForm(specialist_id=specialist.id, questions=[])
    if not policies.can("update", actor, form):
        raise Forbidden("Only the specialist or an admin may change their questionnaire.")
    try:
        form.questions = clean_questions(questions)
    except Invalid as why:
        raise ServiceError("Some questions are not right.", fields=why.fields) from None
    form.updated_at = clock.now()
    db.session.add(form)
    db.session.flush()
    audit_record(actor=actor, action="intake_form_set", entity_type="intake_form", entity_id=form.id,
                 new_values={"specialist_id": specialist.id, "questions": len(form.questions)})
    return form


def intake_response_set(*, actor: User, specialist_id, answers) -> IntakeResponse:
    """The patient's own answers to the specialist's questionnaire (replacing earlier ones)."""
    specialist = _specialist(specialist_id)
    form = intake_form_of(specialist.id)
    if form is None or not form.questions:
        raise NotFound("This specialist has no questionnaire.")
    if actor.role != Role.PATIENT:
        raise Forbidden("Patients fill in their own questionnaire.")
    response = intake_response_of(actor.id, specialist.id)
    first = response is None
    response = response or IntakeResponse(patient_id=actor.id, specialist_id=specialist.id)
    if not policies.can("update", actor, response):
        raise Forbidden("Patients fill in their own questionnaire.")
    try:
        response.answers = clean_answers(form.questions, answers)
    except Invalid as why:
        raise ServiceError("Some answers are missing or not right.", fields=why.fields) from None
    response.submitted_at = clock.now()
    db.session.add(response)
    db.session.flush()
    audit_record(actor=actor, action="intake_answered", entity_type="intake_response", entity_id=response.id,
                 new_values={"specialist_id": specialist.id, "answered": True, "first": first})
    log.info("intake %s answered", response.id)
    return response


def terms_set(*, actor: User, body: str) -> ConsentTerms:
    """A new version of the clinic's terms: every patient is asked again at their next booking."""
    text = (body or "").strip()
    if not 1 <= len(text) <= 20_000:
        raise ServiceError("Give the terms' text.", fields={"body": "1 to 20000 characters."})
    current = current_terms()
    terms = ConsentTerms(version=(current.version if current else 0) + 1, body=text, created_by=actor.id)
    if not policies.can("create", actor, terms):
        raise Forbidden("Only administrators set the terms.")
    db.session.add(terms)
    db.session.flush()
    audit_record(actor=actor, action="terms_set", entity_type="consent_terms", entity_id=terms.id,
                 new_values={"version": terms.version})
    return terms


def consent_give(*, actor: User, kind: str, specialist_id=None) -> Consent:
    """The patient agrees to the current terms, or to being recorded by one specialist. Giving a
    consent that already holds returns it."""
    if kind == "terms":
        terms = current_terms()
        if terms is None:
            raise NotFound("The clinic has no terms to agree to.")
        existing = live_consent(actor.id, "terms", terms_version=terms.version)
        consent = Consent(patient_id=actor.id, kind="terms", terms_version=terms.version)
    elif kind == "recording":
        if specialist_id is None:
            raise ServiceError("Name the specialist.", fields={"specialist_id": "Required for recording."})
        specialist = _specialist(specialist_id)
        existing = live_consent(actor.id, "recording", specialist_id=specialist.id)
        consent = Consent(patient_id=actor.id, kind="recording", specialist_id=specialist.id)
    else:
        raise ServiceError("Consent to terms or recording.", fields={"kind": "terms or recording."})
    if not policies.can("create", actor, consent):
        raise Forbidden("Patients give their own consent.")
    if existing is not None:
        return existing
    consent.given_at = clock.now()
    db.session.add(consent)
    db.session.flush()
    audit_record(actor=actor, action="consent_given", entity_type="consent", entity_id=consent.id,
                 new_values={"kind": kind, "specialist_id": consent.specialist_id,
                             "terms_version": consent.terms_version})
    return consent


def consent_withdraw(*, actor: User, consent_id: uuid.UUID) -> Consent:
    """Withdraw a consent: later recordings are refused; earlier ones stay."""
    consent = policies.load(Consent, consent_id, actor, action="update", missing="No such consent.",
                            refused="Only the patient withdraws their consent.")
    if consent.withdrawn_at is not None:
        raise Conflict("This consent was already withdrawn.", code="ALREADY_WITHDRAWN")
    consent.withdrawn_at = clock.now()
    db.session.flush()
    audit_record(actor=actor, action="consent_withdrawn", entity_type="consent", entity_id=consent.id,
                 new_values={"kind": consent.kind, "specialist_id": consent.specialist_id})
    return consent
