"""Cancelling a booking from the booking lists and the booking page.

GET shows the cancel dialog (a fragment for htmx, a page without JS); POST
cancels through the service and answers with the updated booking row (or the
booking page's summary), or the dialog again with the refusal in words."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_htmx import make_response
from flask_login import current_user

from portal import policies
from portal.bookings.blueprint import bp
from portal.bookings.forms import CancelForm
from portal.errors import ServiceError
from portal.extensions import db, htmx
from portal.models import Booking, Role
from portal.selectors.bookings import moves_of
from portal.services.cancellations import (
    REASON_MAX_LENGTH,
    TOO_LATE_TO_CANCEL,
    booking_cancel_and_commit,
    booking_cancel_refused,
    cancel_terms,
    is_cancellable,
    report_unexpected,
    success_message,
)
from portal.web.forms import FORM_ERROR, NOT_A_FORM_ERROR, checks_own_text
from portal.web.refusals import note_refusal
from portal.web.rendering import render_page, wants_fragment

TEMPLATE = "cancellations/cancel.html"
UNEXPECTED = "Something went wrong on our side and the booking was not cancelled. Please try again."


@bp.app_template_global("can_cancel")
def can_cancel_global(booking: Booking) -> bool:
    """For the cancel button: the viewer is a party (or an admin) and the booking is active and upcoming."""
    return policies.can_cancel(current_user, booking, as_staff=True) and is_cancellable(booking)


@bp.app_template_global("cancelled_by_words")
def cancelled_by_words(cancellation) -> str:
    """Who cancelled, in the viewer's words: "you", "the patient", "the specialist" or "clinic staff"."""
    if cancellation.party == "staff":
        return "clinic staff"
    return "you" if cancellation.cancelled_by == current_user.id else f"the {cancellation.party}"


def _target() -> str:
    """Where the result goes: a booking row in a list, or the booking page's summary."""
    return "page" if request.values.get("target") == "page" else "row"


def _problem(booking: Booking) -> str | None:
    if booking.status == "cancelled":
        return "This booking is already cancelled."
    if not is_cancellable(booking):
        return TOO_LATE_TO_CANCEL
    return None


def _staff_terms(booking: Booking) -> dict | None:
    """An admin cancelling for the parties: what each choice means, for the dialog's two options."""
    if not policies.can_cancel(current_user, booking, as_staff=True) or policies.can_cancel(current_user, booking):
        return None
    return {choice: cancel_terms(actor=current_user, booking=booking, cancelled_for=choice)
            for choice in ("patient", "clinic")}


def _dialog(booking: Booking, *, error: str | None = None, reason: str = "", status: int = 200,
            cancelled_for: str = ""):
    problem = _problem(booking)
    terms = None if problem or not policies.can_cancel(current_user, booking) else (
        cancel_terms(actor=current_user, booking=booking))
    return render_page(TEMPLATE, "cancel_dialog", status, booking=booking, error=error,
                       reason=reason, target=_target(), as_dialog=bool(htmx),
                       reason_max=REASON_MAX_LENGTH, problem=problem, terms=terms,
                       staff_terms=None if problem else _staff_terms(booking), cancelled_for=cancelled_for)


@bp.route("/<uuid:booking_id>/cancel", methods=["GET"])
def cancel_form(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    if not policies.can_cancel(current_user, booking, as_staff=True):
        return _dialog(booking, error="Not your booking: only its patient or specialist can cancel it.",
                       status=403)
    return _dialog(booking)


def _refused(booking: Booking, message: str, reason: str, status: int = FORM_ERROR, cancelled_for: str = ""):
    # The form's hx-target is where a cancel lands (the row or the summary); a refusal
    # belongs in the dialog itself, so htmx is told to swap that instead.
    response = _dialog(booking, error=message, reason=reason, status=status, cancelled_for=cancelled_for)
    response.headers.update({"HX-Retarget": f"#cancel-dialog-{booking.id}", "HX-Reswap": "outerHTML"})
    return response


def _current(booking: Booking, notice: str | None = None):
    """The booking's row (or the booking page's summary) as it is now, for htmx."""
    if _target() == "page":
        return render_page("bookings/detail.html", "booking_summary", booking=booking, notice=notice,
                           moves=moves_of(viewer=current_user, booking_id=booking.id))
    viewer_role = Role.SPECIALIST if booking.specialist_id == current_user.id else Role.PATIENT
    return make_response(render_template("cancellations/_booking_row.html", booking=booking,
                                         viewer_role=viewer_role, notice=notice))


def _cancelled(booking: Booking, terms):
    notice = success_message(terms)
    if not htmx:
        flash(notice, "success")
        return redirect(url_for("bookings.detail", booking_id=booking.id))
    return _current(booking, notice)


@bp.route("/<uuid:booking_id>/cancel/done", methods=["GET"])
def cancel_closed(booking_id):
    """Closing a dialog that refused: show the booking as it is now (someone else may have
    cancelled it meanwhile)."""
    booking = policies.load(Booking, booking_id, current_user)
    if not wants_fragment():
        return redirect(url_for("bookings.detail", booking_id=booking.id))
    return _current(booking)


@bp.route("/<uuid:booking_id>/cancel", methods=["POST"])
@checks_own_text
def cancel(booking_id):
    """Not submit_form: the service owns this transaction (it takes SQLite's write lock first and
    commits), and a refusal is audited on its own after the rollback."""
    booking = policies.load(Booking, booking_id, current_user)
    form = CancelForm()
    reason, behalf = form.reason.data or "", form.cancelled_for.data or ""
    if not form.validate():
        return _refused(booking, next(iter(form.error_messages().values())), reason, cancelled_for=behalf)
    if not _problem(booking) and _staff_terms(booking) and behalf not in ("patient", "clinic"):
        return _refused(booking, "Say whether you cancel on the patient's behalf or for the clinic.", reason)
    try:
        terms = booking_cancel_and_commit(actor=current_user, booking_id=booking.id, reason=reason, as_staff=True,
                                          cancelled_for=behalf or None)
    except ServiceError as error:
        note_refusal(error)
        booking_cancel_refused(actor=current_user, booking_id=booking.id, error=error)
        status = error.http_status if error.http_status in NOT_A_FORM_ERROR else FORM_ERROR
        return _refused(policies.load(Booking, booking.id, current_user), error.message, reason, status, behalf)
    except Exception as error:  # noqa: BLE001 -- not the user's: report with ids only
        db.session.rollback()
        report_unexpected(error, booking_id=booking.id, user_id=current_user.id)
        return _refused(policies.load(Booking, booking.id, current_user), UNEXPECTED, reason, status=500)
    return _cancelled(booking, terms)
