"""Session notes on the booking page: the specialist writes and amends them, the
patient and admins read them, admins delete. Each change answers with the
fresh notes section for htmx, or redirects back to the booking page."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm.attributes import set_committed_value

from portal import policies
from portal.bookings.blueprint import bp
from portal.bookings.forms import AmendmentForm, NoteForm
from portal.errors import ServiceError
from portal.extensions import db, htmx
from portal.models import Booking, SessionNote, SessionNoteAmendment
from portal.selectors.notes import notes_for_booking
from portal.services.notes import (
    ENGAGEMENT_LEVELS,
    amendment_add,
    note_create,
    note_delete,
    note_is_locked,
    note_load,
    note_locks_at,
    note_update,
)
from portal.web.access import log_reads
from portal.web.forms import NOT_A_FORM_ERROR, checks_own_text, form_error, submit_form
from portal.web.rendering import render_page, wants_fragment

TEXT_FIELDS = ("notes", "follow_up_actions", "next_session_recommendation", "private_notes")
KNOWN_META = ("mood_level", "engagement", "homework_completion")


@bp.app_template_global("booking_notes")
def booking_notes(booking) -> list[SessionNote]:
    return notes_for_booking(user=current_user, booking_id=booking.id)


@bp.app_template_global("can_read_private_notes")
def can_read_private(note) -> bool:
    return policies.can_read_private_notes(current_user, note)


@bp.app_template_global("note_locked")
def note_locked(note) -> bool:
    return note_is_locked(note)


@bp.app_template_global("note_lock_time")
def note_lock_time(note):
    return note_locks_at(note)


@bp.app_template_global("new_note_for")
def new_note_for(booking) -> SessionNote:
    """An unsaved note, so templates can ask can('create', ...) for the booking."""
    note = SessionNote(booking_id=booking.id, provider_id=getattr(current_user, "id", None))
    note.booking = booking
    return note


@bp.app_template_global("can_amend")
def can_amend(note) -> bool:
    probe = SessionNoteAmendment(note_id=note.id, author_id=getattr(current_user, "id", None), text="")
    set_committed_value(probe, "note", note)  # no backref event: the probe never joins the session
    return policies.can("create", current_user, probe)


@bp.app_template_global("note_form_values")
def note_form_values(note) -> dict:
    """The edit form's values for a saved note (the inverse of note_form_data)."""
    meta = dict(note.metadata_ or {})
    homework = meta.pop("homework_completion", None)
    values = {field: getattr(note, field) for field in TEXT_FIELDS}
    values["mood_level"] = meta.pop("mood_level", "")
    values["engagement"] = meta.pop("engagement", "")
    values["homework_completion"] = "" if homework is None else ("yes" if homework else "no")
    values["extra"] = "\n".join(f"{key}: {value}" for key, value in meta.items())
    return values


def parse_extra(text: str) -> dict:
    """'key: value' lines of the free-form details box."""
    extra = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in KNOWN_META:
            extra[key.strip()[:60]] = value.strip()[:500]
    return extra


def note_form_data(form: NoteForm) -> dict:
    values = form.values()
    data = {field: values[field] for field in TEXT_FIELDS}
    data["metadata"] = {**parse_extra(values["extra"]), **{key: values[key] for key in KNOWN_META}}
    return data


def _section(booking: Booking, **context):
    if wants_fragment():
        return render_page("notes/_booking_notes.html", "booking_notes", booking=booking,
                           engagement_levels=ENGAGEMENT_LEVELS, **context)
    if context.get("note_errors") or context.get("note_error"):
        flash(context.get("note_error") or "Please correct the note.", "error")
    return redirect(url_for("bookings.detail", booking_id=booking.id) + "#booking-notes")


def _done(booking: Booking, message: str):
    if not htmx:
        flash(message, "success")
    return _section(booking, notes_message=message)


@bp.route("/<uuid:booking_id>/notes", methods=["GET"])
def notes_section(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    log_reads(notes_for_booking(user=current_user, booking_id=booking.id))
    return _section(booking, editing=request.args.get("edit"), adding=request.args.get("add") == "1")


@bp.route("/<uuid:booking_id>/notes", methods=["POST"])
@checks_own_text
def note_add(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    form = NoteForm()

    def refused(errors: dict):
        return _section(booking, adding=True, note_form=form.values(), note_errors=errors)

    if not form.validate():
        return form_error(refused(form.error_messages()))
    data = note_form_data(form)
    return submit_form(
        lambda: note_create(actor=current_user, booking_id=booking.id, data=data),
        done=lambda _: _done(booking, "Note saved. You can edit it for 24 hours."),
        refused=lambda error: refused(error.fields), reraise=NOT_A_FORM_ERROR)


@bp.route("/notes/<uuid:note_id>", methods=["POST"])
@checks_own_text
def note_edit(note_id):
    note = note_load(actor=current_user, note_id=note_id)
    booking = note.booking
    form = NoteForm()

    def refused(error: ServiceError):
        if error.code == "NOTE_LOCKED":  # too late to edit: offer an amendment instead
            return _section(booking, note_error=error.message, amending=str(note.id))
        return _section(booking, editing=str(note.id), note_form=form.values(), note_errors=error.fields)

    if not form.validate():
        return form_error(_section(booking, editing=str(note.id), note_form=form.values(),
                                   note_errors=form.error_messages()))
    return submit_form(lambda: note_update(actor=current_user, note_id=note.id, data=note_form_data(form)),
                       done=lambda _: _done(booking, "Note updated."), refused=refused, reraise=NOT_A_FORM_ERROR)


@bp.route("/notes/<uuid:note_id>/amendments", methods=["POST"])
@checks_own_text
def note_amend(note_id):
    note = note_load(actor=current_user, note_id=note_id)
    booking = note.booking
    form = AmendmentForm()

    def refused(errors: dict):
        return _section(booking, amending=str(note.id), amend_errors=errors)

    if not form.validate():
        return form_error(refused(form.error_messages()))
    return submit_form(
        lambda: amendment_add(actor=current_user, note_id=note.id, text=form.text.data or ""),
        done=lambda _: _done(booking, "Amendment added."),
        refused=lambda error: refused(error.fields), reraise=NOT_A_FORM_ERROR)


@bp.route("/notes/<uuid:note_id>/delete", methods=["POST"])
def note_remove(note_id):
    note = note_load(actor=current_user, note_id=note_id)
    booking = note.booking
    note_delete(actor=current_user, note_id=note.id)
    db.session.commit()
    return _done(booking, "Note deleted.")
