"""E-mail settings: the account page's reminder switch, and the signed one-click opt-out that every
reminder links to (reached from a mail client without a session, so authorised by its token)."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.extensions import csrf, db
from portal.services.reminders import opt_out_user, reminders_opt_out, reminders_set
from portal.web.blueprints import PUBLIC, SIGNED_IN
from portal.web.rendering import render_page

bp = Blueprint("mail", __name__)


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "POST":
        enabled = request.form.get("reminders") == "on"
        reminders_set(actor=current_user, user=current_user, enabled=enabled)
        db.session.commit()
        flash("Reminders are on." if enabled else "Reminders are off.", "success")
    # The reminder switch is a section of the settings page.
    return redirect(url_for("account.settings", _anchor="reminders"))


@bp.route("/reminders/off/<token>", methods=["GET"])
def reminders_off(token):
    """A page with one button: mail scanners that open links must not turn anything off."""
    user = opt_out_user(token)
    if user is None:
        abort(404)
    return render_page("account/reminders_off.html", token=token, done=not user.reminders_enabled)


@bp.route("/reminders/off/<token>", methods=["POST"])
@csrf.exempt  # the signed token is the authority; mail clients post here for one-click (RFC 8058)
def reminders_off_post(token):
    user = reminders_opt_out(token=token)
    if user is None:
        abort(404)
    db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return "", 204
    return redirect(url_for("mail.reminders_off", token=token))


# Read by the role-by-endpoint test.
settings.allowed_roles = SIGNED_IN
reminders_off.allowed_roles = reminders_off_post.allowed_roles = PUBLIC
