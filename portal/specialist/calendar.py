"""The specialist's calendar, a month or a week (htmx: months, weeks and days swap in place,
their URL pushed so Back and reload keep them), and the day panel to block a day or part
of it, or remove an exception."""
from __future__ import annotations

from datetime import date, time, timedelta

from flask import abort, redirect, request, session, url_for
from flask_login import current_user

from portal import clock
from portal.domain.inputs import date_in_window
from portal.domain.zones import zone_of
from portal.errors import ServiceError
from portal.extensions import db, htmx
from portal.models import EXCEPTION_REASONS
from portal.selectors.calendar import (
    day_bookings,
    exceptions_on,
    month_calendar,
    service_names,
    shift_month,
    week_calendar,
    week_start,
)
from portal.selectors.hours import affected_bookings
from portal.services.hours import (
    AVAILABLE_ONLY_NEEDS_RANGE,
    ExceptionInput,
    exception_create,
    exception_delete,
)
from portal.specialist.blueprint import bp
from portal.specialist.forms import BlockForm
from portal.web.forms import checks_own_text, form_error, submit_form
from portal.web.rendering import render_page, wants_fragment

TEMPLATE = "specialist/calendar.html"
REASON_LABELS = {"vacation": "Vacation", "sick_leave": "Sick leave", "personal": "Personal",
                 "training": "Training", "conference": "Conference", "other": "Other"}


def _parse_day(value: str | None) -> date | None:
    """A day from the URL: a malformed one, or one outside the input window, is no page (404)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        abort(404)
    if day is not None and not date_in_window(day):
        abort(404)
    return day


def _parse_month(value: str | None, fallback: date) -> date:
    try:
        month = date.fromisoformat(f"{value}-01") if value else fallback.replace(day=1)
    except ValueError:
        abort(404)
    if not date_in_window(month):
        abort(404)
    return month


VIEWS = ("month", "week")
VIEW_KEY = "calendar_view"  # the last view chosen, kept in the signed session cookie


def _view() -> str:
    """The view the URL names (and remember it), else the last one chosen, else the month."""
    chosen = request.args.get("view")
    if chosen in VIEWS:
        session[VIEW_KEY] = chosen
        return chosen
    return session.get(VIEW_KEY) if session.get(VIEW_KEY) in VIEWS else "month"


def _context(*, month: date, day: date | None, form: dict | None = None, errors: dict | None = None,
             affected: list | None = None, notice: str | None = None, with_month: bool = True,
             view: str = "month", week: date | None = None) -> dict:
    """The calendar's context; without `with_month`, no grid (htmx swapping only the day panel)."""
    zone = zone_of(current_user)
    today = clock.today(zone.key)
    monday = week_start(week or day or today)
    context = {
        "view": view, "month": month, "prev_month": shift_month(month, -1), "next_month": shift_month(month, 1),
        "week": monday, "prev_week": monday - timedelta(days=7), "next_week": monday + timedelta(days=7),
        "weeks": [], "week_days": [], "service_names": {},
        "today": today, "selected": day, "reasons": REASON_LABELS,
        "form": form or {}, "errors": errors or {}, "affected": affected or [], "notice": notice,
    }
    if with_month and view == "week":
        context["week_days"], context["service_names"] = week_calendar(
            specialist_id=current_user.id, zone=zone, monday=monday)
    elif with_month:
        context["weeks"] = month_calendar(specialist_id=current_user.id, zone=zone, first_of_month=month)
    if day is not None:
        context["day_bookings"] = day_bookings(specialist_id=current_user.id, zone=zone, day=day)
        context["day_exceptions"] = exceptions_on(current_user.id, day, day)
        context["service_names"] = {**service_names(specialist_id=current_user.id,
                                                     bookings=context["day_bookings"]), **context["service_names"]}
    return context


@bp.route("/calendar")
def calendar():
    today = clock.today(zone_of(current_user).key)
    day = _parse_day(request.args.get("day"))
    week = _parse_day(request.args.get("week"))
    month = _parse_month(request.args.get("month"), day or week or today)
    return render_page(TEMPLATE, "calendar_body", **_context(month=month, day=day, view=_view(), week=week))


@bp.route("/calendar/day/<day>")
def calendar_day(day):
    selected = _parse_day(day)
    # The month grid (its bookings and exceptions) is read only for a whole page, not for htmx's day panel.
    return render_page(TEMPLATE, "day_panel", **_context(month=selected.replace(day=1), day=selected,
                                                         with_month=not wants_fragment(), view=_view()))


def _exception_input(day: date, form) -> tuple[ExceptionInput | None, dict]:
    errors = {}
    reason = form.get("reason", "")
    if reason not in EXCEPTION_REASONS:
        errors["reason"] = "Pick a reason."
    all_day = form.get("span", "all_day") == "all_day"
    start = end = None
    if not all_day:
        try:
            start, end = time.fromisoformat(form.get("start_time", "")), time.fromisoformat(form.get("end_time", ""))
        except ValueError:
            errors["start_time"] = "Give a start and an end time (HH:MM)."
        else:
            if end <= start:
                errors["end_time"] = "The end must be after the start."
    is_available = form.get("kind") == "available_only"
    if is_available and all_day:
        errors["kind"] = AVAILABLE_ONLY_NEEDS_RANGE
    if day < clock.today(zone_of(current_user).key):
        errors["form"] = "This day has passed: no time can be blocked on it."
    if errors:
        return None, errors
    return ExceptionInput(day, reason, is_available, all_day, start, end), {}


@bp.route("/calendar/day/<day>/exceptions", methods=["POST"])
@checks_own_text
def calendar_block(day):
    selected = _parse_day(day)
    block_form = BlockForm()
    form = block_form.values()
    if not block_form.validate():
        messages = block_form.error_messages()
        return form_error(_panel(selected, form=form, errors={**messages, "form": next(iter(messages.values()))}))
    data, errors = _exception_input(selected, form)
    affected_choice = form.get("affected") or None
    if data is not None and affected_choice is None:
        affected = affected_bookings(specialist=current_user, data=data)
        if affected:
            return _panel(selected, form=form, affected=affected)
    if data is None:
        return form_error(_panel(selected, form=form, errors=errors))

    def refused(error: ServiceError):
        again = affected_bookings(specialist=current_user, data=data) if affected_choice else []
        return _panel(selected, form=form, errors={**error.fields, "form": error.message}, affected=again)

    return submit_form(
        lambda: exception_create(actor=current_user, specialist_id=current_user.id, data=data,
                                 affected=affected_choice or "keep", cancel_reason=form.get("cancel_reason")),
        done=lambda _: _done(selected, "Saved. The day's free slots are updated."), refused=refused)


@bp.route("/calendar/exceptions/<uuid:exception_id>/delete", methods=["POST"])
def calendar_unblock(exception_id):
    day = _parse_day(request.form.get("day"))
    exception_delete(actor=current_user, exception_id=exception_id)
    db.session.commit()
    return _done(day, "Exception removed.")


def _panel(day: date, **kwargs):
    return render_page(TEMPLATE, "calendar_body", **_context(month=day.replace(day=1), day=day, view=_view(),
                                                             **kwargs))


def _done(day: date | None, notice: str):
    if day is None or not htmx:
        return redirect(url_for("specialist.calendar", day=day.isoformat() if day else None))
    return render_page(TEMPLATE, "calendar_body", **_context(month=day.replace(day=1), day=day, notice=notice,
                                                             view=_view()))
