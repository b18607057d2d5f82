"""The signed-in specialist's services on "Hours and rates": add one, change its length and price
from a date, take it off or back on offer, make it the default."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.services.offerings import service_create, service_update
from portal.specialist.availability import hours_page, today_here
from portal.specialist.blueprint import bp
from portal.specialist.forms import ServiceForm
from portal.web.forms import checks_own_text, form_error, submit_form

TOGGLES = {"deactivate": {"is_active": False}, "activate": {"is_active": True}, "default": {"is_default": True}}


def _numbers(form: dict) -> tuple[dict, dict]:
    """(values, errors) of the length and start date as typed; the price is the service's to read."""
    values, errors = {}, {}
    try:
        values["duration_minutes"] = int(form.get("duration_minutes", ""))
    except ValueError:
        errors["duration_minutes"] = "A whole number of minutes."
    try:
        given = form.get("effective_from")
        values["effective_from"] = date.fromisoformat(given) if given else today_here()
    except ValueError:
        errors["effective_from"] = "A date."
    return values, errors


@bp.route("/availability/services", methods=["POST"])
@checks_own_text
def add_service():
    service_form = ServiceForm()
    form = service_form.values()
    if not service_form.validate():
        return form_error(hours_page(service_form=form, service_errors=service_form.error_messages()))
    values, errors = _numbers(form)
    if errors:
        return form_error(hours_page(service_form=form, service_errors=errors))
    return submit_form(
        lambda: service_create(actor=current_user, specialist_id=current_user.id, name=form.get("name", ""),
                               description=form.get("description", ""), price=form.get("price", ""),
                               currency=form.get("currency", ""), **values),
        done=lambda service: _saved(f"Service “{service.name}” added."),
        refused=lambda error: hours_page(service_form=form, service_errors=error.fields or {"form": error.message}))


@bp.route("/availability/services/<uuid:service_id>", methods=["POST"])
@checks_own_text
def change_service(service_id):
    service_form = ServiceForm()
    form = service_form.values()
    if not service_form.validate():
        message = next(iter(service_form.error_messages().values()))
        return form_error(hours_page(service_errors={"form": message}))
    values = TOGGLES.get(form.get("action", ""))
    if values is None:
        values, errors = _numbers(form)
        if errors:
            return form_error(hours_page(service_errors={"form": next(iter(errors.values()))}))
        values["price"] = form.get("price", "")
    return submit_form(
        lambda: service_update(actor=current_user, service_id=service_id, values=values),
        done=lambda service: _saved(f"Service “{service.name}” saved."),
        refused=lambda error: hours_page(service_errors={"form": error.message}))


def _saved(message: str):
    flash(message, "success")
    return redirect(url_for("specialist.availability", _anchor="services"))
