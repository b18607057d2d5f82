"""A patient's packages: reviewing and taking one from a specialist's page, their enrolments, and
withdrawing one not yet paid."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from portal import policies
from portal.errors import NotFound
from portal.models import BookingPackage
from portal.patient.blueprint import bp
from portal.selectors.enrolments import enrolments_of_patient
from portal.selectors.specialists import specialist_get
from portal.services.enrolments import enrolment_cancel, enrolment_take
from portal.web.forms import submit_form
from portal.web.rendering import render_page


@bp.route("/packages")
def my_packages():
    return render_page("patient/packages.html", "enrolment_list",
                       enrolments=enrolments_of_patient(viewer=current_user))


@bp.route("/packages/<uuid:package_id>/take")
def package_review(package_id):
    """What taking the package means (price, sessions, validity, paying the clinic, withdrawing):
    only this page's button takes it."""
    package = policies.load(BookingPackage, package_id, current_user, missing="No such package.")
    specialist = specialist_get(specialist_id=package.specialist_id)
    if not package.is_active or specialist is None:
        raise NotFound("No such package.")
    taken = [e for e in enrolments_of_patient(viewer=current_user, specialist_id=specialist.id)
             if e.package_id == package.id and e.status in ("pending_payment", "active")]
    return render_page("patient/package_review.html", package=package, specialist=specialist, taken=taken)


@bp.route("/packages/enrolments/<uuid:enrolment_id>/withdraw", methods=["POST"])
def withdraw_enrolment(enrolment_id):
    def done(enrolment):
        flash(f"You have withdrawn “{enrolment.package_name}”: nothing is owed for it.", "success")
        return redirect(url_for("patient.my_packages"))

    return submit_form(lambda: enrolment_cancel(actor=current_user, enrolment_id=enrolment_id),
                       done=done, refused=_not_withdrawn, reraise=(404,))


def _not_withdrawn(error):
    flash(error.message, "error")
    return redirect(url_for("patient.my_packages"))


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
