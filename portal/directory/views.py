"""Finding a specialist, their page with services, packages and a week of free times (in the
visitor's own time zone), the review of a chosen time, and booking it on "Confirm".

Anyone may read these pages; a stranger's review asks them to sign in or sign up, and brings them
back to it (a safe `next`). Only a patient's "Confirm" books."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user

from portal import clock, policies
from portal.bookings.slots import parse_start
from portal.directory.blueprint import bp
from portal.directory.booking_steps import (
    bookable_offers,
    booked_of,
    chosen_offer,
    parse_day,
    review_of,
    service_id_of,
    week_of,
)
from portal.domain.booking_rules import BOOKING_LIMIT_REACHED, limit_refusal, refusal_message
from portal.domain.zones import zone_of
from portal.extensions import htmx
from portal.models import Role, User
from portal.patient.forms import BookForm
from portal.recurring.views import change_message
from portal.selectors.booking_rules import booking_rules_of, upcoming_count
from portal.selectors.enrolments import enrolments_of_patient
from portal.selectors.intake import needs_intake_step
from portal.selectors.specialists import active_packages, specialist_get, specialists_search
from portal.services.bookings import booking_create
from portal.services.recurring import FREQUENCIES, recurring_create
from portal.web.blueprints import roles_required
from portal.web.forms import checks_own_text, form_error, submit_form
from portal.web.rate_limits import booking_rate_limited, calm_message
from portal.web.rendering import render_page

PER_PAGE = 10


@bp.route("")
def index():
    q = request.args.get("q", "")[:120]
    results = specialists_search(viewer=current_user, q=q, page=request.args.get("page"), per_page=PER_PAGE)
    return render_page("specialists/index.html", "results", specialists=results.items, q=q, results=results,
                       total=results.total)


def _is_patient() -> bool:
    return current_user.is_authenticated and current_user.role == Role.PATIENT


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        abort(404)
    return policies.load(User, specialist.id, current_user)


def _pay_singly() -> bool:
    """The patient chose to pay singly instead of drawing a package credit (a link, so no JS is needed)."""
    return request.values.get("use_package") == "0"


def _page(specialist: User, *, error=None, review=None, offer=None):
    """The specialist's page: the service chosen, a week of its free times, and (once a time is
    chosen) the review of that booking; an htmx request gets the slot list's block alone."""
    offers = bookable_offers(specialist)
    offer = offer or chosen_offer(specialist, offers, request.values.get("service"))
    week = week_of(specialist, offer, request.values.get("week"), offers=offers) if offer else None
    return render_page(
        "specialists/profile.html", "slot_list", specialist=specialist, offers=offers, offer=offer,
        rate=offer and offer.rate, week=week,
        packages=active_packages(viewer=current_user, specialist_id=specialist.id),
        slot_days=week.days if week else {}, error=error, review=review,
        # Only an empty week says why (two more queries): the page shows no note beside free slots.
        limit_note=None if week and week.days or not _is_patient() else _limit_note(specialist),
        enrolments=enrolments_of_patient(viewer=current_user, specialist_id=specialist.id) if _is_patient() else [],
        pay_singly=_pay_singly(), repeat=_repeat(), may_book=_is_patient(),
        # Where a stranger comes back to after signing in or up: this page, or the chosen time's review.
        return_to=request.full_path.rstrip("?"),
    )


def _repeat() -> str:
    """"" (once), or the frequency of the standing appointment being set up."""
    repeat = request.values.get("repeat", "")
    return repeat if repeat in FREQUENCIES else ""


def _limit_note(specialist: User) -> str | None:
    """Why the list is empty when the patient holds as many upcoming sessions as allowed."""
    rules = booking_rules_of(specialist.id)
    upcoming = upcoming_count(patient_id=current_user.id, specialist_id=specialist.id, now=clock.now())
    if limit_refusal(rules, upcoming) is None:
        return None
    return refusal_message(BOOKING_LIMIT_REACHED, rules, current_app.config["MAX_BOOKING_AHEAD_DAYS"])


@bp.route("/<uuid:specialist_id>")
def profile(specialist_id):
    return _page(_specialist(specialist_id))


@bp.route("/<uuid:specialist_id>/review")
def review(specialist_id):
    """The chosen time in words (service, length, price or package, zones, cancellation): only its
    "Confirm" books."""
    specialist = _specialist(specialist_id)
    starts_at = parse_start(request.args.get("starts_at"))
    offer = chosen_offer(specialist, bookable_offers(specialist), request.args.get("service"))
    if starts_at is None or offer is None:
        return form_error(_page(specialist, error="That time could not be read. Please pick a slot."))
    return _page(specialist, offer=offer,
                 review=review_of(specialist, offer, starts_at, use_package=_is_patient() and not _pay_singly()))


@bp.route("/<uuid:specialist_id>/book", methods=["POST"])
@roles_required(Role.PATIENT)
@checks_own_text
def book(specialist_id):
    specialist = _specialist(specialist_id)
    form = BookForm()
    if not form.validate():
        return form_error(_page(specialist, error=next(iter(form.error_messages().values()))))
    starts_at = parse_start(form.starts_at.data)
    if starts_at is None:
        return form_error(_page(specialist, error="That time could not be read. Please pick a slot."))
    retry_after = booking_rate_limited(actor=current_user, patient=current_user)
    if retry_after:
        response = make_response(_page(specialist, error=calm_message(retry_after)), 429)
        response.headers["Retry-After"] = str(retry_after)
        return response
    if form.repeat.data in FREQUENCIES:
        return _set_up_series(specialist, starts_at, form)
    return submit_form(
        lambda: booking_create(actor=current_user, patient=current_user, specialist_id=specialist.id,
                               starts_at=starts_at, use_package=not _pay_singly(),
                               service_id=service_id_of(form.service.data)),
        done=lambda booking: _booked(specialist, booking),
        refused=lambda error: _page(specialist, error=error.message), as_written=True)


def _set_up_series(specialist: User, starts_at, form: BookForm):
    """The reviewed time as the first session of a standing appointment (the same time in the
    specialist's zone every week, two weeks or month)."""
    local = starts_at.astimezone(zone_of(specialist))
    return submit_form(
        lambda: recurring_create(actor=current_user, patient=current_user, specialist_id=specialist.id,
                                 frequency=form.repeat.data, start_date=local.date(), time_of_day=local.time(),
                                 end_date=parse_day(form.end_date.data), service_id=service_id_of(form.service.data)),
        done=_series_set_up, refused=lambda error: _page(specialist, error=error.message))


def _series_set_up(change):
    flash(change_message(change, "Your recurring session is set up."), "success")
    target = url_for("recurring.detail", series_id=change.series.id)
    return make_response("", 204, {"HX-Redirect": target}) if htmx else redirect(target)


def _booked(specialist: User, booking):
    if needs_intake_step(booking):  # the terms or a first session's questionnaire; the booking stands
        flash("Booked. Before your session, please see what your specialist asks of you.", "success")
        target = url_for("intake.form", specialist_id=specialist.id, booking=booking.id)
        return make_response("", 204, {"HX-Redirect": target}) if htmx else redirect(target)
    if not htmx:
        paid_by = " One package session used." if booking.package_enrolment_id else ""
        flash(f"Booked. See you then!{paid_by}", "success")
        return redirect(url_for("bookings.detail", booking_id=booking.id))
    # What was booked, in place of the week: the answer to a write reads the booking, not the
    # specialist's free times again (the slot list is a read of its own, "Book another time").
    return render_page("specialists/profile.html", "slot_list", specialist=specialist, message="Booked",
                       booking=booking, booked=booked_of(specialist, booking), offer=None, pay_singly=False,
                       repeat="")
