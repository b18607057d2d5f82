from __future__ import annotations

import math

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_required, logout_user

from portal.auth.blueprint import bp
from portal.auth.forms import LoginForm
from portal.auth.loading import start_session
from portal.auth.next import safe_next
from portal.auth.throttle import login_failed, login_wait_seconds
from portal.extensions import db
from portal.models import Role
from portal.services.audit import audit_failure, audit_record
from portal.services.users import user_authenticate, user_by_email, user_end_sessions
from portal.web.errors import error_page
from portal.web.rendering import render_page

DASHBOARDS = {
    Role.PATIENT: "patient.dashboard",
    Role.SPECIALIST: "specialist.dashboard",
    Role.ADMIN: "admin.dashboard",
    Role.OPS: "admin.ops_dashboard",
}


def dashboard_url(user) -> str:
    return url_for(DASHBOARDS[user.role])


def _too_many_attempts(wait: int):
    minutes = max(1, math.ceil(wait / 60))
    message = (f"Too many failed sign-ins from this address. Please wait {minutes} minute"
               f"{'' if minutes == 1 else 's'} before signing in.")
    page, status = error_page(429, message)
    return page, status, {"Retry-After": str(wait)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(dashboard_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        wait = login_wait_seconds(form.email.data)
        if wait:
            return _too_many_attempts(wait)
        user = user_authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user, remember=form.remember.data)
            audit_record(actor=user, action="login", entity_type="user", entity_id=user.id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or dashboard_url(user))
        login_failed(form.email.data)
        _audit_refused_login(form.email.data)
        form.password.errors.append("E-mail or password is not right.")
    status = 400 if request.method == "POST" else 200
    return render_page("auth/login.html", None, status, form=form)


def _audit_refused_login(email: str) -> None:
    """A failure row naming the account tried (by id, never by e-mail), if there is one."""
    target = user_by_email(email)
    audit_failure(actor=None, action="login", entity_type="user",
                  entity_id=target.id if target else None, error="BAD_CREDENTIALS")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Raising the session version ends every copy of this sign-in's cookie, and the remember-me cookie.
    user_end_sessions(user=current_user, reason="sign_out")
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(dashboard_url(current_user))
    return redirect(url_for("auth.login"))
