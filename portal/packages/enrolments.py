"""The enrolments section of the admin's and the specialist's package pages."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.packages.forms import MarkPaidForm
from portal.selectors.enrolments import enrolments_page, patient_names
from portal.services.enrolments import enrolment_cancel, enrolment_mark_paid
from portal.web.forms import NOT_A_FORM_ERROR, form_error, submit_form


def context() -> dict:
    """What packages/_enrolments.html needs: the latest enrolments the viewer may see."""
    enrolments = enrolments_page(viewer=current_user, page=1, per_page=100).items
    return {"enrolments": enrolments, "patient_names": patient_names({e.patient_id for e in enrolments})}


def _act(action, message: str, page_endpoint: str, rerender):
    def done(enrolment):
        flash(message.format(name=enrolment.package_name), "success")
        return redirect(url_for(page_endpoint))

    return submit_form(action, done=done, refused=lambda error: rerender(enrolment_error=error.message),
                       reraise=NOT_A_FORM_ERROR)


def mark_paid(enrolment_id, page_endpoint: str, rerender):
    form = MarkPaidForm()
    if not form.validate():
        return form_error(rerender(enrolment_error=next(iter(form.error_messages().values()))))
    return _act(lambda: enrolment_mark_paid(actor=current_user, enrolment_id=enrolment_id,
                                            reference=form.reference.data or ""),
                "Marked paid: “{name}” starts today.", page_endpoint, rerender)


def cancel(enrolment_id, page_endpoint: str, rerender):
    return _act(lambda: enrolment_cancel(actor=current_user, enrolment_id=enrolment_id),
                "Enrolment in “{name}” cancelled.", page_endpoint, rerender)
