"""Every cancellation (who, when, why) for admins, with filters."""
from __future__ import annotations

import uuid

from flask import request
from flask_login import current_user
from wtforms import DateField, Form, SelectChoice, SelectField
from wtforms.validators import Optional

from portal.admin.blueprint import bp
from portal.models import Role
from portal.selectors.cancellations import (
    CancellationFilters,
    cancellations_list,
    people_for_filters,
)
from portal.web.blueprints import roles_required
from portal.web.rendering import render_page
from portal.web.templating import viewer_zone
from portal.web.validators import DateInWindow

PER_PAGE = 50


class CancellationFilterForm(Form):
    date_from = DateField("Cancelled from", validators=[Optional(), DateInWindow()])
    date_to = DateField("Cancelled to", validators=[Optional(), DateInWindow()])
    cancelled_by = SelectField("Cancelled by", choices=[
        SelectChoice("", "Anyone"), SelectChoice("patient", "The patient"),
        SelectChoice("specialist", "The specialist")], validators=[Optional()])
    timing = SelectField("Notice", choices=[
        SelectChoice("", "Late or not"), SelectChoice("late", "Late only"),
        SelectChoice("on_time", "With enough notice")], validators=[Optional()])
    specialist = SelectField("Specialist", validators=[Optional()])
    patient = SelectField("Patient", validators=[Optional()])


def _filter_form() -> CancellationFilterForm:
    form = CancellationFilterForm(request.args)
    form.specialist.choices = [SelectChoice("", "All specialists")] + [
        SelectChoice(str(u.id), u.display_name) for u in people_for_filters(user=current_user, role=Role.SPECIALIST)]
    form.patient.choices = [SelectChoice("", "All patients")] + [
        SelectChoice(str(u.id), u.display_name) for u in people_for_filters(user=current_user, role=Role.PATIENT)]
    form.validate()
    return form


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value and value.strip() else None
    except ValueError:  # " " passes Optional() without a menu check: no filter
        return None


def _filters(form: CancellationFilterForm) -> CancellationFilters:
    def ok(field):
        return field.data if field.data and not field.errors else None

    return CancellationFilters(
        date_from=ok(form.date_from), date_to=ok(form.date_to), cancelled_by=ok(form.cancelled_by),
        specialist_id=_uuid(ok(form.specialist)), patient_id=_uuid(ok(form.patient)),
        zone=viewer_zone().key, timing=ok(form.timing),
    )


@bp.route("/cancellations")
@roles_required(Role.ADMIN)
def cancellations():
    form = _filter_form()
    results = cancellations_list(user=current_user, filters=_filters(form), page=request.args.get("page"),
                                 per_page=PER_PAGE)
    return render_page("admin/cancellations.html", "cancellation_results", form=form, rows=results.items,
                       total=results.total, results=results)
