"""Recording attendance from the booking page and the specialist's schedule: "Attended" or
"No-show", a form that posts and goes back where it came from."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal import policies
from portal.bookings.blueprint import bp
from portal.bookings.forms import AttendanceForm
from portal.models import Booking, Role
from portal.services.attendance import attendance_open, booking_attendance_set
from portal.web.forms import checks_own_text, submit_form

DONE = {"completed": "Marked as attended.", "no_show": "Marked as a no-show."}
CREDIT_KEPT = " The package session it used stays used."


@bp.app_template_global("can_mark_attendance")
def can_mark_attendance_global(booking: Booking) -> bool:
    """For the Attended / No-show buttons: the specialist or an admin, once the session has started."""
    return policies.can_mark_attendance(current_user, booking) and attendance_open(booking)


@bp.app_template_global("status_label")
def status_label(status: str) -> str:
    """A booking status in the viewer's words: a patient "missed" a session staff call a no-show."""
    if status == "no_show":
        return "Missed" if getattr(current_user, "role", None) == Role.PATIENT else "No-show"
    return status.capitalize()


def _back(booking: Booking):
    here = request.host_url
    target = request.referrer if (request.referrer or "").startswith(here) else None
    return redirect(target or url_for("bookings.detail", booking_id=booking.id))


@bp.route("/<uuid:booking_id>/attendance", methods=["POST"])
@checks_own_text
def attendance(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    form = AttendanceForm()
    status = form.status.data or ""

    def refused(error):
        flash(error.message, "error")
        return _back(booking)

    def done(result: Booking):
        kept = CREDIT_KEPT if result.status == "no_show" and result.package_enrolment_id else ""
        flash(DONE[result.status] + kept, "success")
        return _back(result)

    if not form.validate():
        flash(next(iter(form.error_messages().values())), "error")
        return _back(booking)
    return submit_form(lambda: booking_attendance_set(actor=current_user, booking_id=booking.id, status=status),
                       done=done, refused=refused, reraise=(403, 404))
