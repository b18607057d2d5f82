"""A patient's packages: taking one from a specialist's page, and their enrolments."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.patient.blueprint import bp
from portal.selectors.enrolments import enrolments_of_patient
from portal.services.enrolments import enrolment_take
from portal.web.forms import submit_form
from portal.web.rendering import render_page


@bp.route("/packages")
def my_packages():
    return render_page("patient/packages.html", "enrolment_list",
                       enrolments=enrolments_of_patient(viewer=current_user))


@bp.route("/packages/<uuid:package_id>/take", methods=["POST"])
def take_package(package_id):
    return submit_form(lambda: enrolment_take(actor=current_user, package_id=package_id),
                       done=_taken, refused=_not_taken)


def _taken(enrolment):
    flash(f"You have taken “{enrolment.package_name}”. Pay the clinic as agreed: once they mark it paid, "
          f"its {enrolment.credits_total} sessions are yours to book.", "success")
    return redirect(url_for("patient.my_packages"))


def _not_taken(error):
    flash(f"{error.message} It may have been withdrawn.", "error")
    return redirect(url_for("patient.my_packages"))
