"""Every specialist's packages, for admins."""
from __future__ import annotations

import uuid

from flask import request
from flask_login import current_user

from portal.admin.blueprint import bp
from portal.errors import ServiceError
from portal.models import BookingPackage, Role
from portal.packages import enrolments, panel
from portal.packages.forms import AdminPackageForm
from portal.selectors.packages import packages_all, specialist_names
from portal.web.blueprints import roles_required
from portal.web.forms import checks_own_text

PAGE = "admin.packages"


def _all_packages() -> list[BookingPackage]:
    return packages_all(viewer=current_user)


def _render(**context):
    return panel.render_panel("admin/packages.html", _all_packages(),
                              endpoints="admin", specialists=specialist_names(), **enrolments.context(), **context)


def _specialist_id(form: AdminPackageForm):
    try:
        return uuid.UUID(form.specialist_id.data or "")
    except ValueError as error:
        raise ServiceError("Choose a specialist.", fields={"specialist_id": "Choose a specialist."}) from error


@bp.route("/packages")
@roles_required(Role.ADMIN)
def packages():
    return _render(editing=request.args.get("edit"), create_open=request.args.get("new") == "1")


@bp.route("/packages", methods=["POST"])
@roles_required(Role.ADMIN)
@checks_own_text
def package_create():
    form = AdminPackageForm()
    return panel.create(lambda: _specialist_id(form), PAGE, _render, form)


@bp.route("/packages/<uuid:package_id>", methods=["POST"])
@roles_required(Role.ADMIN)
@checks_own_text
def package_update(package_id):
    return panel.update(package_id, PAGE, _render)


@bp.route("/packages/<uuid:package_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def package_active(package_id):
    return panel.set_active(package_id, PAGE, _render)


@bp.route("/packages/<uuid:package_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def package_delete(package_id):
    return panel.delete(package_id, PAGE, _render)


@bp.route("/enrolments/<uuid:enrolment_id>/paid", methods=["POST"])
@roles_required(Role.ADMIN)
@checks_own_text
def enrolment_paid(enrolment_id):
    return enrolments.mark_paid(enrolment_id, PAGE, _render)


@bp.route("/enrolments/<uuid:enrolment_id>/cancel", methods=["POST"])
@roles_required(Role.ADMIN)
def enrolment_cancel(enrolment_id):
    return enrolments.cancel(enrolment_id, PAGE, _render)
