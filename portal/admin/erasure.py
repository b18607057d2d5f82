"""Erasure requests (admins): the pending ones, carried out or refused with a reason the patient
sees; and a patient's access log."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import DataRequired

from portal import policies
from portal.admin.blueprint import bp
from portal.domain.inputs import MAX_REASON
from portal.models import Role, User
from portal.selectors.rights import RECORD_WORDS, access_log_page, erasure_requests_page
from portal.services.erasure import erasure_carry_out, erasure_delete_stored, erasure_request_refuse
from portal.web.blueprints import roles_required
from portal.web.forms import PortalForm, checks_own_text, form_error, submit_form
from portal.web.rendering import render_page
from portal.web.validators import SafeText


class RefuseForm(PortalForm):
    reason = TextAreaField("Reason the patient will read",
                           validators=[DataRequired("Write the reason the patient will read."),
                                       SafeText(MAX_REASON, multiline=True)])


def _page(refusing=None, refuse_form: RefuseForm | None = None):
    pending = erasure_requests_page(viewer=current_user, status="pending", page=request.args.get("page"))
    decided_out = erasure_requests_page(viewer=current_user, status="carried_out", page=1, per_page=10)
    decided_no = erasure_requests_page(viewer=current_user, status="refused", page=1, per_page=10)
    return render_page("admin/erasure_requests.html", "pending_erasures", results=pending, pending=pending.items,
                       carried_out=decided_out.items, refused=decided_no.items,
                       refusing=refusing, refuse_form=refuse_form)


@bp.route("/erasure-requests")
@roles_required(Role.ADMIN)
def erasure_requests():
    return _page()


def _back(message: str):
    flash(message, "success")
    return redirect(url_for("admin.erasure_requests"))


@bp.route("/erasure-requests/<uuid:request_id>/carry-out", methods=["POST"])
@roles_required(Role.ADMIN)
def erasure_carry_out_view(request_id):
    def done(result):
        erasure, leftovers = result
        stored = erasure_delete_stored(leftovers)  # after the commit: a rolled-back erasure keeps its files
        note = "" if not stored["errors"] else f" {stored['errors']} stored file(s) could not be deleted; see the logs."
        return _back(f"The account is erased; it now reads {erasure.patient.display_name}.{note}")

    def refused(error):
        flash(error.message, "error")
        return _page()

    return submit_form(lambda: erasure_carry_out(actor=current_user, request_id=request_id), done=done,
                       refused=refused, reraise=(404,))


@bp.route("/erasure-requests/<uuid:request_id>/refuse", methods=["POST"])
@roles_required(Role.ADMIN)
@checks_own_text
def erasure_refuse_view(request_id):
    form = RefuseForm()
    if not form.validate():
        return form_error(_page(refusing=request_id, refuse_form=form))

    def refused(error):
        flash(error.message, "error")
        return _page(refusing=request_id, refuse_form=form)

    return submit_form(lambda: erasure_request_refuse(actor=current_user, request_id=request_id,
                                                      reason=form.reason.data),
                       done=lambda _r: _back("The request is refused; the patient sees your reason."),
                       refused=refused, reraise=(404,))


@bp.route("/users/<uuid:user_id>/access-log")
@roles_required(Role.ADMIN)
def users_access_log(user_id):
    patient = policies.load(User, user_id, current_user, missing="No such user.")
    results = access_log_page(viewer=current_user, patient_id=patient.id, page=request.args.get("page"))
    return render_page("admin/access_log.html", "access_rows", patient=patient, results=results,
                       rows=results.items, record_words=RECORD_WORDS)
