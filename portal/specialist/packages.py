"""A specialist's own packages, managed in place."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from portal import clock
from portal.packages import enrolments, panel
from portal.selectors.availability import rate_on
from portal.selectors.packages import packages_of
from portal.specialist.blueprint import bp
from portal.web.forms import checks_own_text

PAGE = "specialist.packages"


def _render(**context):
    return panel.render_panel(
        "specialist/packages.html", packages_of(current_user.id),
        endpoints="specialist", current_rate=rate_on(current_user.id, clock.today()), **enrolments.context(),
        **context
    )


@bp.route("/packages")
def packages():
    return _render(editing=request.args.get("edit"), create_open=request.args.get("new") == "1")


@bp.route("/packages", methods=["POST"])
@checks_own_text
def package_create():
    return panel.create(lambda: current_user.id, PAGE, _render)


@bp.route("/packages/<uuid:package_id>", methods=["POST"])
@checks_own_text
def package_update(package_id):
    return panel.update(package_id, PAGE, _render)


@bp.route("/packages/<uuid:package_id>/active", methods=["POST"])
def package_active(package_id):
    return panel.set_active(package_id, PAGE, _render)


@bp.route("/packages/<uuid:package_id>/delete", methods=["POST"])
def package_delete(package_id):
    return panel.delete(package_id, PAGE, _render)


@bp.route("/enrolments/<uuid:enrolment_id>/paid", methods=["POST"])
@checks_own_text
def enrolment_paid(enrolment_id):
    return enrolments.mark_paid(enrolment_id, PAGE, _render)
