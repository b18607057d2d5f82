"""The package management panel shared by the specialist's and the admin's page.

Both pages render the same `packages_panel` block; htmx swaps it whole after
every change (a specialist has a handful of packages), and without JavaScript
each form posts and redirects back."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db, htmx
from portal.packages.forms import PackageForm
from portal.selectors.packages import pricing_for
from portal.services.packages import (
    CURRENCIES,
    package_create,
    package_delete,
    package_set_active,
    package_update,
)
from portal.web.forms import NOT_A_FORM_ERROR, form_error, submit_form
from portal.web.rendering import render_page

# No discount field: the service works it out from the price (see package_create).
FORM_FIELDS = ("name", "description", "session_count", "price", "currency", "valid_for_days")


def _values(form: PackageForm) -> dict:
    values = form.values()
    return {key: values[key] for key in FORM_FIELDS}


def render_panel(template: str, packages: list, **context):
    context.setdefault("create_form", {"currency": "USD"})
    return render_page(template, "packages_panel", packages=packages,
                       pricing=pricing_for(packages), currencies=CURRENCIES, **context)


def done(message: str, page_endpoint: str, rerender):
    """After a change (committed): the fresh panel for htmx, or a redirect for a plain form."""
    if htmx:
        return rerender(flash_message=message)
    flash(message, "success")
    return redirect(url_for(page_endpoint))


def create(specialist_id: Callable[[], object], page_endpoint: str, rerender, form: PackageForm | None = None):
    """A new package for the specialist `specialist_id()` names (it may refuse, naming its field)."""
    form = form or PackageForm()
    data = _values(form)

    def refused(errors: dict):
        return rerender(create_form=form.values(), create_errors=errors, create_open=True)

    if not form.validate():
        return form_error(refused(form.error_messages()))
    return submit_form(
        lambda: package_create(actor=current_user, specialist_id=specialist_id(), data=data),
        done=lambda package: done(f"Package “{package.name}” created.", page_endpoint, rerender),
        refused=lambda error: refused(error.fields))


def update(package_id, page_endpoint: str, rerender):
    form = PackageForm()
    data = _values(form)

    def refused(errors: dict):
        return rerender(editing=str(package_id), edit_form=data, edit_errors=errors)

    if not form.validate():
        return form_error(refused(form.error_messages()))
    return submit_form(
        lambda: package_update(actor=current_user, package_id=package_id, data=data),
        done=lambda package: done(f"Package “{package.name}” saved.", page_endpoint, rerender),
        refused=lambda error: refused(error.fields), reraise=NOT_A_FORM_ERROR)


def set_active(package_id, page_endpoint: str, rerender):
    active = request.form.get("active") == "1"
    package = package_set_active(actor=current_user, package_id=package_id, active=active)
    db.session.commit()
    state = "is now offered to patients" if active else "is hidden from patients"
    return done(f"Package “{package.name}” {state}.", page_endpoint, rerender)


def delete(package_id, page_endpoint: str, rerender):
    package_delete(actor=current_user, package_id=package_id)
    db.session.commit()
    return done("Package deleted.", page_endpoint, rerender)
