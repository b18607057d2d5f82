"""/admin/terms: the clinic's terms, versioned. Publishing adds a version; patients agree to it at
their next booking."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.intake.blueprint import terms_bp
from portal.intake.forms import TermsForm
from portal.selectors.intake import current_terms
from portal.services.intake import terms_set
from portal.web.forms import checks_own_text, form_error, submit_form, with_field_errors
from portal.web.rendering import render_page


def _page(form: TermsForm, status: int = 200):
    return render_page("intake/terms.html", None, status, form=form, terms=current_terms())


@terms_bp.route("")
def edit():
    terms = current_terms()
    return _page(TermsForm(body=terms.body if terms else ""))


@terms_bp.route("", methods=["POST"])
@checks_own_text
def publish():
    form = TermsForm()
    if not form.validate():
        return form_error(_page(form))

    def done(terms):
        flash(f"Version {terms.version} of the terms is published.", "success")
        return redirect(url_for("terms.edit"))

    return submit_form(lambda: terms_set(actor=current_user, body=form.body.data),
                       done=done, refused=lambda error: _page(with_field_errors(form, error), 422))
