from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth.blueprint import bp
from portal.auth.forms import LoginForm
from portal.extensions import db, limiter
from portal.web.rendering import render_page
from portal.services.audit import audit_failure, audit_record
from portal.services.users import normalize_email, user_authenticate, user_by_email

DASHBOARDS = {
    "patient": "patient.dashboard",
    "specialist": "specialist.dashboard",
    "admin": "admin.dashboard",
    "ops": "admin.ops_dashboard",
}


def dashboard_url(user) -> str:
    return url_for(DASHBOARDS[user.role])


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, never another host."""
    if not target or any(ch.isspace() or ord(ch) < 32 for ch in target):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" would become "//evil.example"
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    return "login-account:" + normalize_email(request.form.get("email", ""))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, key_func=_account_key, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(dashboard_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            audit_record(actor=user, action="login", entity_type="user", entity_id=user.id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or dashboard_url(user))
        _audit_refused_login(form.email.data)
        form.password.errors.append("E-mail or password is not right.")
    status = 400 if request.method == "POST" else 200
    return render_page("auth/login.html", form=form, status=status)


def _audit_refused_login(email: str) -> None:
    """A failure row naming the account tried (by id, never by e-mail), if there is one."""
    target = user_by_email(email)
    audit_failure(actor=None, action="login", entity_type="user",
                  entity_id=target.id if target else None, error="BAD_CREDENTIALS")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(dashboard_url(current_user))
    return redirect(url_for("auth.login"))
