"""/intake/<specialist_id>: what a patient gives before their first session with a specialist:
agreement to the clinic's current terms, consent to recording, and the questionnaire's answers.
The booking stands whatever they do here."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal import policies
from portal.errors import NotFound
from portal.intake.blueprint import bp
from portal.intake.forms import IntakePageForm
from portal.models import Booking, IntakeResponse
from portal.selectors.intake import (
    intake_form_of,
    intake_response_of,
    live_consent,
    recording_consented,
    terms_pending,
)
from portal.selectors.specialists import specialist_get
from portal.services.intake import consent_give, consent_withdraw, intake_response_set
from portal.web.forms import form_error, submit_form
from portal.web.rendering import render_page


def _specialist(specialist_id):
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return specialist


def _booking():
    """The booking that led here (to go back to), when it is the patient's."""
    booking_id = request.values.get("booking")
    if not booking_id:
        return None
    try:
        return policies.load(Booking, booking_id, current_user)
    except NotFound:
        return None


def _answers_posted(questions) -> dict:
    answers = {}
    for question in questions:
        name = f"q-{question['id']}"
        if question["kind"] == "multiple_choice":
            answers[question["id"]] = request.form.getlist(name)
        elif question["kind"] == "yes_no":
            value = request.form.get(name, "")
            answers[question["id"]] = {"yes": True, "no": False}.get(value)
        else:
            answers[question["id"]] = request.form.get(name, "")
    return answers


def _page(specialist, *, answers=None, errors=None, status=200):
    form = intake_form_of(specialist.id)
    response = intake_response_of(current_user.id, specialist.id)
    if response is not None:
        response = policies.load(IntakeResponse, response.id, current_user)
    return render_page("intake/form.html", None, status, specialist=specialist, booking=_booking(),
                       questions=form.questions if form else [], terms=terms_pending(current_user.id),
                       recording_given=recording_consented(current_user.id, specialist.id),
                       answers=answers if answers is not None else (response.answers if response else {}),
                       answered_at=response and response.submitted_at, errors=errors or {},
                       form=IntakePageForm())


@bp.route("/<uuid:specialist_id>")
def form(specialist_id):
    return _page(_specialist(specialist_id))


@bp.route("/<uuid:specialist_id>", methods=["POST"])
def submit(specialist_id):
    specialist = _specialist(specialist_id)
    page_form = IntakePageForm()
    if not page_form.validate():
        return form_error(_page(specialist, errors={"form": "The form expired. Please send it again."}))
    intake = intake_form_of(specialist.id)
    questions = intake.questions if intake else []
    answers = _answers_posted(questions)

    def save():
        if page_form.agree_terms.data:
            consent_give(actor=current_user, kind="terms")
        if page_form.agree_recording.data:
            consent_give(actor=current_user, kind="recording", specialist_id=specialist.id)
        if questions:
            intake_response_set(actor=current_user, specialist_id=specialist.id, answers=answers)

    def done(_):
        flash(f"Thank you: {specialist.display_name} will have this before your session.", "success")
        booking = _booking()
        return redirect(url_for("bookings.detail", booking_id=booking.id) if booking
                        else url_for("patient.dashboard"))

    def refused(error):
        fields = {name.removeprefix("answers."): message for name, message in error.fields.items()}
        return _page(specialist, answers=answers, errors={"form": error.message, **fields}, status=422)

    return submit_form(save, done=done, refused=refused, reraise=(403, 404))


@bp.route("/<uuid:specialist_id>/recording/withdraw", methods=["POST"])
def withdraw_recording(specialist_id):
    """Withdraw the consent to recording: later recordings are refused, earlier ones stay."""
    specialist = _specialist(specialist_id)
    if not IntakePageForm().validate():
        return form_error(_page(specialist, errors={"form": "The form expired. Please try again."}))
    consent = live_consent(current_user.id, "recording", specialist_id=specialist.id)
    if consent is None:
        return redirect(url_for("intake.form", specialist_id=specialist.id))

    def done(_):
        flash(f"Withdrawn: {specialist.display_name} will not record your sessions.", "success")
        return redirect(url_for("intake.form", specialist_id=specialist.id))

    def refused(error):
        flash(error.message, "error")
        return redirect(url_for("intake.form", specialist_id=specialist.id))

    return submit_form(lambda: consent_withdraw(actor=current_user, consent_id=consent.id), done=done,
                       refused=refused, reraise=(403, 404))
