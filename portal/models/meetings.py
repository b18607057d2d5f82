"""Where a session happens and what a patient brings to it: intake questionnaires, their answers,
the clinic's terms and the patient's consents.

Intake answers are health data: the patient, that specialist and admins read them (portal.policies
.meetings); they never go into mail, logs, Sentry or audit values."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.meetings import LOCATION_KINDS, QUESTION_KINDS
from portal.extensions import db
from portal.models.types import PlainJSON, UTCDateTime, new_id, utcnow

CONSENT_KINDS = ("terms", "recording")
__all__ = ["CONSENT_KINDS", "LOCATION_KINDS", "QUESTION_KINDS", "Consent", "ConsentTerms", "IntakeForm",
           "IntakeResponse"]


class IntakeForm(db.Model):
    """A specialist's one questionnaire: an ordered list of questions (portal.domain.intake)."""

    __tablename__ = "intake_forms"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), unique=True)
    questions: Mapped[list] = mapped_column(PlainJSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IntakeResponse(db.Model):
    """A patient's answers to a specialist's questionnaire, keyed by question id."""

    __tablename__ = "intake_responses"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    specialist_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict] = mapped_column(PlainJSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("patient_id", "specialist_id", name="uq_intake_responses_patient_specialist"),
    )


class ConsentTerms(db.Model):
    """One version of the clinic's terms; the highest version is the one patients agree to."""

    __tablename__ = "consent_terms"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(sa.Integer, unique=True)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    __table_args__ = (sa.CheckConstraint("version >= 1", name="version"),)


class Consent(db.Model):
    """A patient's agreement: to a version of the terms, or to being recorded by one specialist.
    Withdrawn, it stays as the record of when it held."""

    __tablename__ = "consents"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    specialist_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("specialist_profiles.id", ondelete="CASCADE"), nullable=True, index=True)
    terms_version: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        sa.CheckConstraint(f"kind IN {CONSENT_KINDS!r}", name="kind"),
        sa.CheckConstraint("kind <> 'recording' OR specialist_id IS NOT NULL", name="recording_specialist"),
        sa.CheckConstraint("kind <> 'terms' OR terms_version IS NOT NULL", name="terms_version"),
    )

    @property
    def is_live(self) -> bool:
        return self.withdrawn_at is None
