"""Booking a client in (staff): a specialist on their own calendar, an admin with any specialist.

Choose the patient (search by name or e-mail), for an admin the specialist too, then a free
time, then confirm. Staff step past the specialist's booking rules (the audit row names the
rules), never past the overlap guarantee."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.bookings.blueprint import bp
from portal.bookings.forms import BookForClientForm
from portal.bookings.slots import SLOT_DAYS, parse_start, slot_days
from portal.errors import NotFound
from portal.models import Role, User
from portal.selectors.specialists import specialist_get, specialists_search
from portal.selectors.users import patient_get, patients_for_booking
from portal.services.bookings import booking_create, booking_patient
from portal.web.blueprints import roles_required
from portal.web.forms import FORM_ERROR, checks_own_text, form_error, submit_form
from portal.web.rendering import render_page

TEMPLATE = "bookings/new.html"


STAFF = (Role.SPECIALIST, Role.ADMIN)  # who book clients in (policies.may_book_for_others)


def _chosen_specialist() -> User | None:
    if current_user.role == Role.SPECIALIST:
        return specialist_get(specialist_id=current_user.id)
    specialist_id = request.values.get("specialist")
    return specialist_get(specialist_id=specialist_id) if specialist_id else None


def _chosen_patient() -> User | None:
    patient_id = request.values.get("patient")
    if not patient_id:
        return None
    patient = patient_get(patient_id=patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def _context(**extra) -> dict:
    patient, specialist = _chosen_patient(), _chosen_specialist()
    query = (request.args.get("q") or "").strip()[:120]
    context = {"patient": patient, "specialist": specialist, "q": query, "slot_window": SLOT_DAYS,
               "patients": [] if patient else patients_for_booking(actor=current_user, query=query),
               "specialists": [], "slot_days": {}, "starts_at": None, "form": None, "error": None}
    if patient and current_user.role == Role.ADMIN and specialist is None:
        context["specialists"] = specialists_search(viewer=current_user, per_page=200).items
    if patient and specialist and "starts_at" not in extra:
        context["slot_days"] = slot_days(specialist, patient_id=patient.id, rules_apply=False)
    return context | extra


@bp.route("/new")
@roles_required(*STAFF)
def new_for_client():
    return render_page(TEMPLATE, **_context())


@bp.route("/new/confirm")
@roles_required(*STAFF)
def new_for_client_confirm():
    starts_at = parse_start(request.args.get("starts_at"))
    context = _context(starts_at=starts_at)
    if starts_at is None or context["patient"] is None or context["specialist"] is None:
        flash("Choose a patient and a free time first.", "error")
        return redirect(url_for("bookings.new_for_client", patient=request.args.get("patient"),
                                specialist=request.args.get("specialist")))
    context["form"] = BookForClientForm(data={"starts_at": starts_at.isoformat()})
    return render_page(TEMPLATE, **context)


@bp.route("/new", methods=["POST"])
@roles_required(*STAFF)
@checks_own_text
def create_for_client():
    form = BookForClientForm()
    starts_at = parse_start(form.starts_at.data)
    context = _context(starts_at=starts_at, form=form)
    patient, specialist = context["patient"], context["specialist"]
    if not form.validate() or starts_at is None or patient is None or specialist is None:
        context["error"] = "Choose a patient and a free time first."
        return form_error(render_page(TEMPLATE, None, FORM_ERROR, **context))

    def book():
        booking_patient(actor=current_user, patient_id=patient.id, specialist_id=specialist.id)
        return booking_create(actor=current_user, patient=patient, specialist_id=specialist.id, starts_at=starts_at,
                              override_rules=True)

    def booked(booking):
        flash(f"Booked {patient.display_name}. They get the usual confirmation e-mail.", "success")
        return redirect(url_for("bookings.detail", booking_id=booking.id))

    return submit_form(book, done=booked, reraise=(403, 404),
                       refused=lambda error: render_page(TEMPLATE, **(context | {"error": error.message})))
