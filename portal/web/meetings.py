"""Template helpers for where a session happens: read only by those the policies allow."""
from __future__ import annotations

from flask_login import current_user

from portal import policies
from portal.selectors.meetings import Location, booking_location


def session_place(booking) -> Location | None:
    """The session's place for the viewer: its parties and admins only."""
    if not policies.can_see_location(current_user, booking):
        return None
    return booking_location(booking)


def booking_intake(booking) -> dict | None:
    """What the booking page shows of the patient's intake: to the patient, whether it (or the
    terms) waits for them; to that specialist and admins, the questions with the answers.
    None for anyone else, and when the specialist asks nothing."""
    from portal.models import IntakeResponse, Role
    from portal.selectors.intake import intake_form_of, intake_response_of, terms_pending

    if not policies.can_see_location(current_user, booking):
        return None
    form = intake_form_of(booking.specialist_id)
    questions = form.questions if form else []
    response = intake_response_of(booking.patient_id, booking.specialist_id)
    if current_user.role == Role.PATIENT:
        return {"patient": True, "pending": bool(questions) and response is None,
                "terms": terms_pending(current_user.id) is not None, "questions": questions}
    if not questions and response is None:
        return None
    if response is not None and policies.can("view", current_user, response):
        response = policies.load(IntakeResponse, response.id, current_user)
    else:
        response = None
    return {"patient": False, "questions": questions, "response": response}


def client_intake(patient) -> dict | None:
    """The signed-in specialist's questionnaire with `patient`'s answers, for the client's history."""
    from portal.models import IntakeResponse
    from portal.selectors.intake import intake_form_of, intake_response_of

    form = intake_form_of(current_user.id)
    response = intake_response_of(patient.id, current_user.id)
    if response is None or not policies.can("view", current_user, response):
        return {"questions": form.questions if form else [], "response": None} if form and form.questions else None
    return {"questions": form.questions if form else [],
            "response": policies.load(IntakeResponse, response.id, current_user)}
