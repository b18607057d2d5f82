"""Finding a specialist, their page with rates, packages and free slots
(in the patient's own time zone), and booking a slot in place."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user

from portal import clock, policies
from portal.domain.booking_rules import BOOKING_LIMIT_REACHED, limit_refusal, refusal_message
from portal.domain.zones import zone_of
from portal.extensions import htmx
from portal.models import User
from portal.patient.blueprint import bp
from portal.patient.forms import BookForm
from portal.selectors.availability import next_free_slots, rate_on
from portal.selectors.booking_rules import booking_rules_of, upcoming_count
from portal.selectors.enrolments import enrolments_of_patient
from portal.selectors.specialists import active_packages, specialist_get, specialists_search
from portal.services.bookings import booking_create
from portal.web.forms import checks_own_text, form_error, submit_form
from portal.web.rate_limits import booking_rate_limited, calm_message
from portal.web.rendering import render_page
from portal.web.templating import LOCAL_DATETIME_FORMAT, viewer_zone

PER_PAGE = 10
SLOT_DAYS = 14


@bp.route("/specialists")
def specialists():
    q = request.args.get("q", "")[:120]
    results = specialists_search(viewer=current_user, q=q, page=request.args.get("page"), per_page=PER_PAGE)
    return render_page("patient/specialists.html", "results", specialists=results.items, q=q, results=results,
                       total=results.total)


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        abort(404)
    return policies.load(User, specialist.id, current_user)


class SlotButton(NamedTuple):
    """One free slot as its button shows it: formatted here once, in the patient's zone, rather than
    through the template's filters for each of the (often 100+) buttons."""

    starts_at: str  # ISO 8601 with its offset, as the booking form posts it back
    label: str  # e.g. "Mon 01 Dec 2026, 09:00", what a screen reader hears
    time: str  # "09:00", the button's text


def _slot_days(specialist: User, rate) -> dict:
    """Free slots grouped by the patient's local date."""
    zone = viewer_zone()
    days = defaultdict(list)
    for start, _end in next_free_slots(specialist, now=clock.now(), patient_id=current_user.id, days=SLOT_DAYS,
                                       rate=rate):
        local = start.astimezone(zone)
        days[local.date()].append(SlotButton(start.isoformat(), local.strftime(LOCAL_DATETIME_FORMAT),
                                             local.strftime("%H:%M")))
    return dict(days)


def _pay_singly() -> bool:
    """The patient chose to pay singly instead of drawing a package credit (a link, so no JS is needed)."""
    return request.values.get("use_package") == "0"


def _page(specialist: User, *, message=None, error=None, booking=None):
    rate = rate_on(specialist.id, clock.today(zone_of(specialist).key))
    slot_days = _slot_days(specialist, rate) if rate else {}
    return render_page(
        "patient/specialist.html", "slot_list", specialist=specialist, rate=rate,
        packages=active_packages(viewer=current_user, specialist_id=specialist.id),
        slot_days=slot_days, message=message, error=error, booking=booking, slot_window=SLOT_DAYS,
        # Only an empty list says why (two more queries): the page shows no note beside free slots.
        limit_note=None if slot_days else _limit_note(specialist),
        enrolments=enrolments_of_patient(viewer=current_user, specialist_id=specialist.id),
        pay_singly=_pay_singly(),
    )


def _limit_note(specialist: User) -> str | None:
    """Why the list is empty when the patient holds as many upcoming sessions as allowed."""
    rules = booking_rules_of(specialist.id)
    upcoming = upcoming_count(patient_id=current_user.id, specialist_id=specialist.id, now=clock.now())
    if limit_refusal(rules, upcoming) is None:
        return None
    return refusal_message(BOOKING_LIMIT_REACHED, rules, current_app.config["MAX_BOOKING_AHEAD_DAYS"])


@bp.route("/specialists/<uuid:specialist_id>")
def specialist(specialist_id):
    return _page(_specialist(specialist_id))


@bp.route("/specialists/<uuid:specialist_id>/book", methods=["POST"])
@checks_own_text
def book(specialist_id):
    specialist = _specialist(specialist_id)
    form = BookForm()
    if not form.validate():
        return form_error(_page(specialist, error=next(iter(form.error_messages().values()))))
    try:
        starts_at = datetime.fromisoformat(form.starts_at.data or "")
    except ValueError:
        return form_error(_page(specialist, error="That time could not be read. Please pick a slot."))
    retry_after = booking_rate_limited(actor=current_user, patient=current_user)
    if retry_after:
        response = make_response(_page(specialist, error=calm_message(retry_after)), 429)
        response.headers["Retry-After"] = str(retry_after)
        return response
    return submit_form(
        lambda: booking_create(actor=current_user, patient=current_user, specialist_id=specialist.id,
                               starts_at=starts_at, use_package=not _pay_singly()),
        done=lambda booking: _booked(specialist, booking),
        refused=lambda error: _page(specialist, error=error.message))


def _booked(specialist: User, booking):
    if not htmx:
        paid_by = " One package session used." if booking.package_enrolment_id else ""
        flash(f"Booked. See you then!{paid_by}", "success")
        return redirect(url_for("bookings.detail", booking_id=booking.id))
    return _page(specialist, message="Booked", booking=booking)
