"""Moving a session from the booking page and the lists: the specialist's free times (the same
slot list as booking), then a confirm step, then the move through the service."""
from __future__ import annotations

from typing import NamedTuple

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal import policies
from portal.bookings.blueprint import bp
from portal.bookings.forms import MoveForm
from portal.bookings.slots import SLOT_DAYS, cancellation_sentence, parse_start, session_spans, slot_days
from portal.errors import Forbidden
from portal.models import Booking
from portal.selectors.services import service_get
from portal.selectors.specialists import specialist_get
from portal.services.reschedule import (
    TOO_LATE_TO_MOVE,
    booking_reschedule,
    is_late_for_patient,
    is_movable,
    late_message,
    moves_as_staff,
)
from portal.web.forms import FORM_ERROR, checks_own_text, form_error, submit_form
from portal.web.rendering import render_page

TEMPLATE = "bookings/move.html"


@bp.app_template_global("can_move")
def can_move_global(booking: Booking) -> bool:
    """For the Move button: a party or an admin, and the session has not started."""
    return policies.can_reschedule(current_user, booking) and is_movable(booking)


def _movable(booking_id) -> Booking:
    booking = policies.load(Booking, booking_id, current_user)
    if not policies.can_reschedule(current_user, booking):
        raise Forbidden("Not your booking.")
    return booking


def _problem(booking: Booking) -> str | None:
    if booking.status == "cancelled":
        return "This booking is cancelled, so it cannot be moved."
    if not is_movable(booking):
        return TOO_LATE_TO_MOVE
    if not moves_as_staff(current_user, booking) and is_late_for_patient(booking):
        return late_message(booking)
    return None


@bp.route("/<uuid:booking_id>/move")
def move_pick(booking_id):
    """Step 1: the free times the session could move to."""
    booking = _movable(booking_id)
    problem = _problem(booking)
    days = {} if problem else slot_days(
        specialist_get(specialist_id=booking.specialist_id), patient_id=booking.patient_id,
        duration=booking.ends_at - booking.starts_at, moving_id=booking.id, service_id=booking.service_id,
        rules_apply=not moves_as_staff(current_user, booking))
    return render_page(TEMPLATE, booking=booking, problem=problem, slot_days=days, slot_window=SLOT_DAYS,
                       starts_at=None, form=None)


class MoveReview(NamedTuple):
    """The new time as the review before booking shows one: the day and hours in the viewer's zone
    (and the specialist's when their clocks differ), the service and length it keeps, the terms."""

    span: str
    specialist_span: str | None
    service: str | None
    minutes: int
    cancellation: str


def _review(booking: Booking, starts_at) -> MoveReview | None:
    if starts_at is None:
        return None
    specialist = specialist_get(specialist_id=booking.specialist_id)
    length = booking.ends_at - booking.starts_at
    span, specialist_span = session_spans(specialist, starts_at, starts_at + length)
    service = service_get(booking.service_id) if booking.service_id else None
    return MoveReview(span, specialist_span, service and service.name, int(length.total_seconds() // 60),
                      cancellation_sentence(specialist))


def _confirm_page(booking: Booking, form: MoveForm, starts_at, *, error: str | None = None, status: int = 200):
    return render_page(TEMPLATE, None, status, booking=booking, problem=_problem(booking), slot_days=None,
                       starts_at=starts_at, review=_review(booking, starts_at), form=form, error=error,
                       slot_window=SLOT_DAYS)


@bp.route("/<uuid:booking_id>/move/confirm")
def move_confirm(booking_id):
    """Step 2: the old and the new time side by side, and an optional reason."""
    booking = _movable(booking_id)
    starts_at = parse_start(request.args.get("starts_at"))
    if starts_at is None:
        flash("That time could not be read. Please pick a time from the list.", "error")
        return redirect(url_for("bookings.move_pick", booking_id=booking.id))
    form = MoveForm(data={"starts_at": starts_at.isoformat()})
    return _confirm_page(booking, form, starts_at)


@bp.route("/<uuid:booking_id>/move", methods=["POST"])
@checks_own_text
def move(booking_id):
    booking = _movable(booking_id)
    form = MoveForm()
    starts_at = parse_start(form.starts_at.data)
    if not form.validate() or starts_at is None:
        message = next(iter(form.error_messages().values()), "That time could not be read. Please pick another.")
        return form_error(_confirm_page(booking, form, starts_at, error=message, status=FORM_ERROR))

    def moved(result: Booking):
        flash("Session moved. Both of you get an e-mail with the calendar update.", "success")
        return redirect(url_for("bookings.detail", booking_id=result.id))

    return submit_form(
        lambda: booking_reschedule(actor=current_user, booking_id=booking.id, starts_at=starts_at,
                                   reason=form.reason.data),
        done=moved, refused=lambda error: _confirm_page(policies.load(Booking, booking.id, current_user), form,
                                                        starts_at, error=error.message),
        reraise=(403, 404))
