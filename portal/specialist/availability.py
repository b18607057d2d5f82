"""Weekly working hours and session rates of the signed-in specialist."""
from __future__ import annotations

import re
from datetime import date, time

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from portal import clock
from portal.domain.booking_rules import LIMITS, OPTIONAL_RULES
from portal.domain.zones import zone_of
from portal.selectors.availability import rate_on
from portal.selectors.booking_rules import booking_rules_of
from portal.selectors.hours import rates_of, working_hours_of
from portal.selectors.services import grid_default_minutes, offers_of
from portal.selectors.specialists import late_cancel_notice_hours
from portal.services.booking_rules import booking_rules_update
from portal.services.cancellation_window import late_cancel_window_set
from portal.services.hours import HoursInput, rate_add, working_hours_replace
from portal.specialist.blueprint import bp
from portal.specialist.forms import BookingRulesForm, HoursForm, LateCancelForm, RateForm
from portal.web.forms import checks_own_text, form_error, submit_form
from portal.web.rendering import render_page

TEMPLATE = "specialist/availability.html"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")  # a time picker may add seconds


def _saved_hours() -> dict[int, list[tuple[str, str]]]:
    hours: dict[int, list[tuple[str, str]]] = {d: [] for d in range(7)}
    for row in working_hours_of(current_user.id):
        hours[row.weekday].append((f"{row.start_time:%H:%M}", f"{row.end_time:%H:%M}"))
    return hours


def posted_hours(form: HoursForm) -> dict[int, list[tuple[str, str]]]:
    """Each weekday's (start, end) pairs as typed, the empty pairs left out."""
    hours = {}
    for day in range(7):
        starts, ends = form[f"start{day}"].data or [], form[f"end{day}"].data or []
        pairs = zip(starts + [""] * (len(ends) - len(starts)), ends + [""] * (len(starts) - len(ends)), strict=True)
        hours[day] = [(start.strip(), end.strip()) for start, end in pairs if start.strip() or end.strip()]
    return hours


def _time_of(text: str) -> time | None:
    if not TIME.match(text):
        return None
    try:
        return time.fromisoformat(text.zfill(5) if len(text) < 5 else text)
    except ValueError:
        return None


def parse_ranges(weekday: int, pairs: list[tuple[str, str]]) -> list[HoursInput]:
    """A day's (start, end) pairs -> ranges; ValueError with a message people can act on."""
    ranges = []
    for start_text, end_text in pairs:
        if not (start_text and end_text):
            raise ValueError("Give both a start and an end time, or clear both.")
        start, end = _time_of(start_text), _time_of(end_text)
        if start is None or end is None:
            raise ValueError(f"{start_text if start is None else end_text} is not a time of day (use HH:MM).")
        ranges.append(HoursInput(weekday, start, end))
    return ranges


def _rules_section(form: dict | None = None, errors: dict | None = None) -> dict:
    """The "Booking rules" form: its fields, their values (saved or as typed) and errors."""
    max_ahead = current_app.config["MAX_BOOKING_AHEAD_DAYS"]
    fields = [
        ("max_upcoming_per_patient", "Upcoming sessions per patient",
         "The most upcoming sessions one patient may hold with you, series included.", *LIMITS[
             "max_upcoming_per_patient"]),
        ("min_notice_hours", "Minimum notice (hours)",
         "No one can book a session starting sooner than this.", *LIMITS["min_notice_hours"]),
        ("booking_window_days", "Booking window (days)",
         f"How far ahead patients can book (at most {max_ahead}).", LIMITS["booking_window_days"][0],
         min(max_ahead, LIMITS["booking_window_days"][1])),
        ("buffer_before_minutes", "Buffer before (minutes)",
         "Kept free before each session: no other session ends inside it.", *LIMITS["buffer_before_minutes"]),
        ("buffer_after_minutes", "Buffer after (minutes)",
         "Kept free after each session, for notes or a break.", *LIMITS["buffer_after_minutes"]),
        ("slot_interval_minutes", "Start times every (minutes)",
         "Sessions start on this grid from the hour (09:00, 09:30 …). Leave empty for your shortest "
         f"service rounded up to 15 minutes (now {grid_default_minutes(current_user.id, today_here())}).",
         *LIMITS["slot_interval_minutes"]),
    ]
    if form is None:
        form = {key: "" if value is None else value for key, value in vars(booking_rules_of(current_user.id)).items()}
    return {"fields": fields, "form": form, "errors": errors or {}}


def today_here() -> date:
    return clock.today(zone_of(current_user).key)


def hours_page(*, hours=None, hours_errors=None, rate_form=None, rate_errors=None, booking_rules=None,
            window_form=None, window_error=None, service_form=None, service_errors=None):
    today = today_here()
    current = rate_on(current_user.id, today)
    return render_page(
        TEMPLATE, weekdays=WEEKDAYS, hours=hours or _saved_hours(), hours_errors=hours_errors or {},
        rates=rates_of(current_user.id), current_rate=current, today=today,
        rate_form=rate_form or {"currency": current.currency if current else "USD",
                                 "effective_from": today.isoformat()},
        rate_errors=rate_errors or {}, booking_rules=booking_rules or _rules_section(),
        window_hours=late_cancel_notice_hours(specialist_id=current_user.id) if window_form is None else window_form,
        window_error=window_error, offers=offers_of(current_user.id, today, active_only=False),
        service_form=service_form or {"currency": current.currency if current else "USD"},
        service_errors=service_errors or {},
    )


@bp.route("/availability")
def availability():
    return hours_page()


@bp.route("/availability/hours", methods=["POST"])
@checks_own_text
def save_hours():
    form = HoursForm()
    hours = posted_hours(form)
    if not form.validate():
        errors = {int(name[-1]): message for name, message in form.error_messages().items() if name[-1].isdigit()}
        return form_error(hours_page(hours=hours, hours_errors=errors or {"form": "Give times as HH:MM."}))
    errors, ranges = {}, []
    for weekday, pairs in hours.items():
        try:
            ranges += parse_ranges(weekday, pairs)
        except ValueError as error:
            errors[weekday] = str(error)
    if errors:
        return form_error(hours_page(hours=hours, hours_errors=errors))
    return submit_form(
        lambda: working_hours_replace(actor=current_user, specialist_id=current_user.id, ranges=ranges),
        done=lambda _: _saved("Weekly hours saved."),
        refused=lambda error: hours_page(hours=hours, hours_errors={"form": error.message}))


@bp.route("/availability/rates", methods=["POST"])
@checks_own_text
def add_rate():
    rate_form = RateForm()
    form = rate_form.values()
    if not rate_form.validate():
        return form_error(hours_page(rate_form=form, rate_errors=rate_form.error_messages()))
    try:
        duration = int(form.get("duration_minutes", ""))
        effective_from = date.fromisoformat(form.get("effective_from", ""))
    except ValueError:
        message = "Give a length in minutes and a start date."
        return form_error(hours_page(rate_form=form, rate_errors={"form": message}))
    return submit_form(
        lambda: rate_add(actor=current_user, specialist_id=current_user.id, duration_minutes=duration,
                         price=form.get("price", ""), currency=form.get("currency", ""),
                         effective_from=effective_from),
        done=lambda _: _saved("Rate added."),
        refused=lambda error: hours_page(rate_form=form, rate_errors=error.fields or {"form": error.message}))


@bp.route("/availability/booking-rules", methods=["POST"])
@checks_own_text
def save_booking_rules():
    rules_form = BookingRulesForm()
    # A rule the form leaves out keeps its value (the same subset PUT the API accepts).
    form = {key: rules_form.values().get(key, "").strip() for key in LIMITS if key in request.form}
    if not rules_form.validate():
        return form_error(hours_page(booking_rules=_rules_section(form, rules_form.error_messages())))
    try:
        values = {key: int(value) if value or key not in OPTIONAL_RULES else None for key, value in form.items()}
    except ValueError:
        errors = {key: "A whole number." for key, value in form.items()
                  if not value.lstrip("-").isdigit() and (value or key not in OPTIONAL_RULES)}
        return form_error(hours_page(booking_rules=_rules_section(form, errors)))
    return submit_form(
        lambda: booking_rules_update(actor=current_user, specialist_id=current_user.id, **values),
        done=lambda _: _saved("Booking rules saved."),
        refused=lambda error: hours_page(booking_rules=_rules_section(form, error.fields or {"form": error.message})))


@bp.route("/availability/late-cancellation", methods=["POST"])
@checks_own_text
def save_late_cancel_window():
    form = LateCancelForm()
    value = form.late_cancel_notice_hours.data or ""
    if not form.validate():
        return form_error(hours_page(window_form=value, window_error=form.error_messages()["late_cancel_notice_hours"]))
    return submit_form(
        lambda: late_cancel_window_set(actor=current_user, specialist_id=current_user.id, hours=value),
        done=lambda profile: _saved(f"Late-cancellation window saved: {profile.late_cancel_notice_hours} hours."),
        refused=lambda error: hours_page(window_form=value, window_error=error.message))


def _saved(message: str):
    flash(message, "success")
    return redirect(url_for("specialist.availability"))
