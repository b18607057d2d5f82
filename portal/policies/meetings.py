"""Who may see and change where a session happens, intake questionnaires and answers, the
clinic's terms and patients' consents.

- a booking's room (join link or address): its parties and admins (`can_see_location`);
- a questionnaire: signed-in users read it (a patient fills it in), its specialist and admins change it;
- intake answers are health data: the patient (who writes them), that specialist and admins read them;
- the terms: public; admins add a version, none is changed or deleted;
- a consent: the patient (who gives and withdraws it) and admins; a recording consent also
  its specialist, who must know whether they may record."""
from __future__ import annotations

import sqlalchemy as sa

from portal.models import Booking, Consent, ConsentTerms, IntakeForm, IntakeResponse, Role
from portal.policies.base import Policy, is_admin, is_party, user_id
from portal.policies.people import SpecialistOwnedPolicy


def can_see_location(user, booking: Booking) -> bool:
    """The join link or address of `booking`: its parties and admins only."""
    return getattr(user, "is_active", False) and (is_admin(user) or is_party(user, booking))


class IntakeFormPolicy(SpecialistOwnedPolicy):
    model = IntakeForm


class IntakeResponsePolicy(Policy):
    model = IntakeResponse

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = user_id(user)
        return sa.or_(IntakeResponse.patient_id == uid, IntakeResponse.specialist_id == uid)

    def view(self, user, row):
        uid = user_id(user)
        return is_admin(user) or (uid is not None and uid in (row.patient_id, row.specialist_id))

    def create(self, user, row):
        uid = user_id(user)
        return uid is not None and user.role == Role.PATIENT and row.patient_id == uid

    update = create


class ConsentTermsPolicy(Policy):
    """Public; versions are added, never changed."""

    model = ConsentTerms

    def visible(self, user):
        return sa.true()

    def view(self, user, row):
        return True

    def update(self, user, row):
        return False

    def delete(self, user, row):
        return False


class ConsentPolicy(Policy):
    model = Consent

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        uid = user_id(user)
        return sa.or_(Consent.patient_id == uid, sa.and_(Consent.kind == "recording", Consent.specialist_id == uid))

    def view(self, user, row):
        uid = user_id(user)
        if is_admin(user) or (uid is not None and row.patient_id == uid):
            return True
        return uid is not None and row.kind == "recording" and row.specialist_id == uid

    def create(self, user, row):
        uid = user_id(user)
        return uid is not None and user.role == Role.PATIENT and row.patient_id == uid

    update = create  # withdrawing

    def delete(self, user, row):
        return False  # withdrawn, a consent stays as the record of when it held
