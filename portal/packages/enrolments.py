"""The enrolments section of the admin's and the specialist's package pages."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.errors import ServiceError
from portal.extensions import db
from portal.selectors.enrolments import enrolments_page, patient_names
from portal.services.enrolments import enrolment_cancel, enrolment_mark_paid
from portal.web.forms import NOT_A_FORM_ERROR, form_error
from portal.web.refusals import note_refusal


def context() -> dict:
    """What packages/_enrolments.html needs: the latest enrolments the viewer may see."""
    enrolments = enrolments_page(viewer=current_user, page=1, per_page=100).items
    return {"enrolments": enrolments, "patient_names": patient_names({e.patient_id for e in enrolments})}


def _act(action, message: str, page_endpoint: str, rerender):
    try:
        with db.session.begin_nested():
            enrolment = action()
    except ServiceError as error:
        if error.http_status in NOT_A_FORM_ERROR:
            raise
        note_refusal(error)
        return form_error(rerender(enrolment_error=error.message))
    db.session.commit()
    flash(message.format(name=enrolment.package_name), "success")
    return redirect(url_for(page_endpoint))


def mark_paid(enrolment_id, page_endpoint: str, rerender):
    return _act(lambda: enrolment_mark_paid(actor=current_user, enrolment_id=enrolment_id,
                                            reference=request.form.get("reference", "")),
                "Marked paid: “{name}” starts today.", page_endpoint, rerender)


def cancel(enrolment_id, page_endpoint: str, rerender):
    return _act(lambda: enrolment_cancel(actor=current_user, enrolment_id=enrolment_id),
                "Enrolment in “{name}” cancelled.", page_endpoint, rerender)
