"""/account/data: a patient's rights over their record. Download my data, who has looked at my
record, and asking to be forgotten."""
from __future__ import annotations

import json

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user
from wtforms import BooleanField
from wtforms.validators import DataRequired

from portal import clock
from portal.account.blueprint import bp
from portal.extensions import db
from portal.models import Role
from portal.selectors.rights import RECORD_WORDS, access_log_page, erasure_requests_of
from portal.services.data_export import data_export
from portal.services.erasure import erasure_request_create
from portal.web.blueprints import roles_required
from portal.web.forms import PortalForm, checks_own_text, form_error, submit_form, with_field_errors
from portal.web.rendering import render_page
from portal.web.transactions import writes_on_get


class ErasureAskForm(PortalForm):
    confirm = BooleanField("I understand: my account closes, my upcoming sessions are cancelled and my "
                           "recordings are deleted. Clinical notes are kept, without my name, as the law requires.",
                           validators=[DataRequired("Tick the box to confirm.")])


def _data_page(form: ErasureAskForm | None = None):
    requests = erasure_requests_of(viewer=current_user, patient_id=current_user.id)
    return render_page("account/data.html", requests=requests,
                       pending=any(r.status == "pending" for r in requests),
                       erasure_form=form or ErasureAskForm(formdata=None))


@bp.route("/data")
@roles_required(Role.PATIENT)
def data():
    return _data_page()


@bp.route("/data/download")
@roles_required(Role.PATIENT)
@writes_on_get  # the download is audited
def data_download():
    document = data_export(actor=current_user)
    db.session.commit()
    name = f"my-clinic-data-{clock.now():%Y-%m-%d}.json"
    return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


@bp.route("/access-log")
@roles_required(Role.PATIENT)
def access_log():
    results = access_log_page(viewer=current_user, patient_id=current_user.id, page=request.args.get("page"))
    return render_page("account/access_log.html", "access_rows", results=results, rows=results.items,
                       record_words=RECORD_WORDS)


@bp.route("/erasure", methods=["POST"])
@roles_required(Role.PATIENT)
@checks_own_text
def erasure_ask():
    form = ErasureAskForm()
    if not form.validate():
        return form_error(_data_page(form))

    def done(_request):
        flash("Your request is with the clinic. You will see their answer on this page.", "success")
        return redirect(url_for("account.data") + "#erasure")

    return submit_form(lambda: erasure_request_create(actor=current_user._get_current_object()), done=done,
                       refused=lambda error: _data_page(with_field_errors(form, error)))
