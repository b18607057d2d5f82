"""Intake questionnaires and answers, terms and consents, as the services and pages read them.
Answers are health data: callers load them through portal.policies (the one loader) before
showing them; the yes/no helpers here say only whether something is there."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Booking, Consent, ConsentTerms, IntakeForm, IntakeResponse


def intake_form_of(specialist_id: uuid.UUID) -> IntakeForm | None:
    return db.session.scalar(sa.select(IntakeForm).where(IntakeForm.specialist_id == specialist_id))


def has_questionnaire(specialist_id: uuid.UUID) -> bool:
    form = intake_form_of(specialist_id)
    return bool(form and form.questions)


def intake_response_of(patient_id: uuid.UUID, specialist_id: uuid.UUID) -> IntakeResponse | None:
    return db.session.scalar(sa.select(IntakeResponse).where(
        IntakeResponse.patient_id == patient_id, IntakeResponse.specialist_id == specialist_id))


def intake_response_id(patient_id: uuid.UUID, specialist_id: uuid.UUID) -> uuid.UUID | None:
    return db.session.scalar(sa.select(IntakeResponse.id).where(
        IntakeResponse.patient_id == patient_id, IntakeResponse.specialist_id == specialist_id))


def intake_pending(patient_id: uuid.UUID, specialist_id: uuid.UUID) -> bool:
    """The specialist has a questionnaire the patient has not filled in."""
    return has_questionnaire(specialist_id) and intake_response_id(patient_id, specialist_id) is None


def is_first_booking_with(booking: Booking) -> bool:
    """No other booking (of any status) of this patient with this specialist: asked just after
    `booking` was made, any other came first."""
    return not db.session.scalar(sa.select(sa.exists().where(
        Booking.patient_id == booking.patient_id, Booking.specialist_id == booking.specialist_id,
        Booking.id != booking.id)))


def current_terms() -> ConsentTerms | None:
    return db.session.scalar(sa.select(ConsentTerms).order_by(ConsentTerms.version.desc()).limit(1))


def consents_of(patient_id: uuid.UUID) -> list[Consent]:
    return list(db.session.scalars(sa.select(Consent).where(Consent.patient_id == patient_id)
                                   .order_by(Consent.given_at.desc(), Consent.id)))


def live_consent(patient_id: uuid.UUID, kind: str, *, specialist_id: uuid.UUID | None = None,
                 terms_version: int | None = None) -> Consent | None:
    query = sa.select(Consent).where(Consent.patient_id == patient_id, Consent.kind == kind,
                                     Consent.withdrawn_at.is_(None))
    if specialist_id is not None:
        query = query.where(Consent.specialist_id == specialist_id)
    if terms_version is not None:
        query = query.where(Consent.terms_version == terms_version)
    return db.session.scalars(query.order_by(Consent.given_at.desc()).limit(1)).first()


def terms_pending(patient_id: uuid.UUID) -> ConsentTerms | None:
    """The current terms, when the patient has not agreed to this version."""
    terms = current_terms()
    if terms is None or live_consent(patient_id, "terms", terms_version=terms.version):
        return None
    return terms


def recording_consented(patient_id: uuid.UUID, specialist_id: uuid.UUID) -> bool:
    return live_consent(patient_id, "recording", specialist_id=specialist_id) is not None


def needs_intake_step(booking: Booking) -> bool:
    """After booking: the patient has the current terms to agree to, or this is their first
    booking with a specialist whose questionnaire they have not filled in."""
    if terms_pending(booking.patient_id) is not None:
        return True
    return intake_pending(booking.patient_id, booking.specialist_id) and is_first_booking_with(booking)
