"""The package management panel shared by the specialist's and the admin's page.

Both pages render the same `packages_panel` block; htmx swaps it whole after
every change (a specialist has a handful of packages), and without JavaScript
each form posts and redirects back."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db, htmx
from portal.selectors.packages import pricing_for
from portal.services.packages import (
    CURRENCIES,
    package_create,
    package_delete,
    package_set_active,
    package_update,
)
from portal.web.forms import NOT_A_FORM_ERROR, submit_form
from portal.web.rendering import render_page

FORM_FIELDS = ("name", "description", "session_count", "price", "currency", "discount_percentage",
               "valid_for_days")


def form_data() -> dict:
    return {key: request.form.get(key, "") for key in FORM_FIELDS}


def render_panel(template: str, packages: list, **context):
    context.setdefault("create_form", {"currency": "USD", "discount_percentage": "0"})
    return render_page(template, "packages_panel", packages=packages,
                       pricing=pricing_for(packages), currencies=CURRENCIES, **context)


def done(message: str, page_endpoint: str, rerender):
    """After a change (committed): the fresh panel for htmx, or a redirect for a plain form."""
    if htmx:
        return rerender(flash_message=message)
    flash(message, "success")
    return redirect(url_for(page_endpoint))


def create(specialist_id, page_endpoint: str, rerender):
    data = form_data()
    return submit_form(
        lambda: package_create(actor=current_user, specialist_id=specialist_id, data=data),
        done=lambda package: done(f"Package “{package.name}” created.", page_endpoint, rerender),
        refused=lambda error: rerender(create_form=data | {"specialist_id": request.form.get("specialist_id", "")},
                                       create_errors=error.fields, create_open=True))


def update(package_id, page_endpoint: str, rerender):
    data = form_data()
    return submit_form(
        lambda: package_update(actor=current_user, package_id=package_id, data=data),
        done=lambda package: done(f"Package “{package.name}” saved.", page_endpoint, rerender),
        refused=lambda error: rerender(editing=str(package_id), edit_form=data, edit_errors=error.fields),
        reraise=NOT_A_FORM_ERROR)


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
