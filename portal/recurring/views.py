"""List, create and manage recurring series; each series page shows the sessions
the series holds, what could not be booked and why, and says how many booked
sessions pausing or ending would cancel before it is done."""
from __future__ import annotations

import uuid
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_htmx import make_response
from flask_login import current_user
from wtforms import SelectChoice

from portal import policies
from portal.errors import ServiceError
from portal.extensions import db, htmx
from portal.models import RecurringBooking, Role
from portal.recurring.blueprint import bp
from portal.recurring.forms import CancelFollowingForm, SeriesForm
from portal.selectors.bookings import bookings_of_series
from portal.selectors.recurring import recurring_list, recurring_skips, upcoming_counts, upcoming_of_series
from portal.selectors.specialists import specialist_choices
from portal.services import recurring as service
from portal.web.forms import checks_own_text, form_error, submit_form
from portal.web.rendering import render_page

ACTIONS = {"pause": service.recurring_pause, "resume": service.recurring_resume, "end": service.recurring_end}


def _series_list() -> list[RecurringBooking]:
    return recurring_list(viewer=current_user)


def _form() -> SeriesForm | None:
    if current_user.role != Role.PATIENT:
        return None
    form = SeriesForm()
    form.specialist_id.choices = [SelectChoice("", "Choose a specialist")] + [
        SelectChoice(str(i), n) for i, n in specialist_choices()]
    if request.method == "GET" and request.args.get("specialist"):
        form.specialist_id.data = request.args["specialist"]
    return form


def _list_context() -> dict:
    series = _series_list()
    return {"series": series, "series_status": service.series_status,
            "upcoming_counts": upcoming_counts(series_ids=[s.id for s in series])}


def _render_list(form=None, status: int = 200):
    return render_page("recurring/list.html", "series_list", status,
                       form=form if form is not None else _form(), **_list_context())


@bp.route("/")
def index():
    return _render_list()


@bp.route("/", methods=["POST"])
def create():
    form = _form()
    if form is None:
        abort(403)
    if not form.validate_on_submit():
        return form_error(_list_page(form))
    return submit_form(
        lambda: service.recurring_create(
            actor=current_user, patient=current_user, specialist_id=_specialist_id(form),
            frequency=form.frequency.data, start_date=form.start_date.data, end_date=form.end_date.data,
            time_of_day=form.time_of_day.data),
        done=_created, refused=lambda error: _list_page(form, error))


@bp.route("/first-session")
def choose_first():
    """The standing-appointment form's next step: the specialist's free times, the review set to repeat."""
    frequency = request.args.get("frequency", "")
    try:
        specialist_id = uuid.UUID(request.args.get("specialist_id", ""))
    except ValueError:
        flash("Choose a specialist.", "error")
        return redirect(url_for("recurring.index"))
    repeat = frequency if frequency in service.FREQUENCIES else "weekly"
    return redirect(url_for("specialists.profile", specialist_id=specialist_id, repeat=repeat))


def _specialist_id(form: SeriesForm) -> uuid.UUID:
    try:
        return uuid.UUID(form.specialist_id.data)
    except ValueError:
        raise ServiceError("Choose a specialist.", fields={"specialist_id": "Choose a specialist."}) from None


def _list_page(form: SeriesForm, error: ServiceError | None = None):
    """The whole list page with the create form and its errors (a plain form, no htmx)."""
    if error is not None:
        for name, text in error.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, text]
        flash(error.message, "error")
    return render_page("recurring/list.html", form=form, **_list_context())


def _sessions(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"


def change_message(change: service.SeriesChange, done: str) -> str:
    """What a change did, in a sentence: booked, not booked (see the page for why), cancelled."""
    parts = [done]
    if change.booked:
        parts.append(f"{_sessions(len(change.booked))} booked.")
    if change.skipped:
        parts.append(f"{_sessions(len(change.skipped))} could not be booked (see Skipped sessions for why).")
    if change.cancelled:
        parts.append(f"{_sessions(len(change.cancelled))} cancelled.")
    return " ".join(parts)


def _created(change: service.SeriesChange):
    flash(change_message(change, "Your recurring session is set up."), "success")
    return redirect(url_for("recurring.detail", series_id=change.series.id))


def _detail_context(series: RecurringBooking) -> dict:
    bookings = bookings_of_series(viewer=current_user, series_id=series.id)
    skips = recurring_skips(series_id=series.id)
    upcoming = upcoming_of_series(series_id=series.id)
    return {"s": series, "bookings": bookings, "skips": skips, "series_status": service.series_status,
            "upcoming": {b.id for b in upcoming}, "upcoming_count": len(upcoming),
            "next_session": upcoming[0] if upcoming else None}


@bp.route("/<uuid:series_id>")
def detail(series_id):
    series = policies.load(RecurringBooking, series_id, current_user)
    return render_page("recurring/detail.html", "series_summary", **_detail_context(series))


@bp.route("/<uuid:series_id>/<action>", methods=["POST"])
def change(series_id, action):
    if action not in ACTIONS:
        abort(404)
    series = policies.load(RecurringBooking, series_id, current_user, action="update")

    def done(change: service.SeriesChange):
        flash(change_message(change, DONE[action]), "success")
        return _after_change(series)

    def refused(error: ServiceError):
        flash(error.message, "error")
        return _after_change(series)

    return submit_form(lambda: ACTIONS[action](actor=current_user, series=series), done=done, refused=refused)


DONE = {"pause": "The series is paused.", "resume": "The series is running again.", "end": "The series has ended."}


@bp.route("/<uuid:series_id>/cancel-following", methods=["POST"])
@checks_own_text
def cancel_following(series_id):
    """Cancel this and following: the series ends before the date, its sessions from then on go."""
    series = policies.load(RecurringBooking, series_id, current_user, action="update")
    form = CancelFollowingForm()
    try:
        from_date = date.fromisoformat(form.from_date.data or "")
    except ValueError:
        from_date = None

    def done(change: service.SeriesChange):
        flash(change_message(change, f"The series now ends before {from_date.strftime('%a %d %b %Y')}."), "success")
        return redirect(url_for("recurring.detail", series_id=series.id))

    def refused(message: str):
        flash(message, "error")
        return render_page("recurring/detail.html", **_detail_context(series))

    if not form.validate():
        return form_error(refused(next(iter(form.error_messages().values()))))
    return submit_form(lambda: service.recurring_cancel_following(
        actor=current_user, series=series, from_date=from_date, reason=form.reason.data),
        done=done, refused=lambda error: refused(error.message))


@bp.route("/<uuid:series_id>/delete", methods=["POST"])
def delete(series_id):
    series = policies.load(RecurringBooking, series_id, current_user, action="delete")
    service.recurring_delete(actor=current_user, series=series)
    db.session.commit()
    flash("The series was deleted. Sessions already booked stay in your bookings.", "success")
    if htmx and request.form.get("view") == "list":
        return _render_list()
    if htmx:
        return make_response("", 200, redirect=url_for("recurring.index"))
    return redirect(url_for("recurring.index"))


def _after_change(series: RecurringBooking):
    """The list or the series page (whichever the form came from), or its fragment for htmx."""
    if request.form.get("view") == "list":
        return _render_list() if htmx else redirect(url_for("recurring.index"))
    if htmx:
        return render_page("recurring/detail.html", "series_summary", **_detail_context(series))
    return redirect(url_for("recurring.detail", series_id=series.id))
