"""Sign-up, confirming an address, invitations and forgotten passwords (pages open to everyone).

None of these pages tells a visitor whether an address has an account."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.auth.blueprint import bp
from portal.auth.forms import EmailOnlyForm, NewPasswordForm, SignupForm
from portal.auth.loading import start_session
from portal.auth.next import safe_next
from portal.services.account_links import CONFIRM, INVITE, RESET, link_user
from portal.services.accounts import (
    account_accept_invitation,
    account_confirm,
    account_confirmation_resend,
    account_signup,
    password_reset,
    password_reset_request,
)
from portal.web.forms import form_error, submit_form, with_field_errors
from portal.web.rendering import render_page
from portal.web.transactions import writes_on_get

SENT = "If an account can be made or exists for {email}, we have sent a link there. Check your inbox."


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if not current_app.config["ALLOW_SIGNUP"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = SignupForm()
    return_to = safe_next(request.args.get("next"))
    if not form.is_submitted():
        form.timezone.process_data(current_app.config["PORTAL_TIMEZONE"])
        return render_page("auth/signup.html", form=form, return_to=return_to)
    if not form.validate():
        return form_error(render_page("auth/signup.html", form=form, return_to=return_to))
    return submit_form(
        lambda: account_signup(email=form.email.data, password=form.password.data,
                               display_name=form.display_name.data, timezone=form.timezone.data,
                               return_to=return_to),
        done=lambda _user: render_page("auth/link_sent.html", heading="Check your inbox", email=form.email.data,
                                       signup=True, return_to=return_to),
        refused=lambda error: render_page("auth/signup.html", form=with_field_errors(form, error),
                                          return_to=return_to))


@bp.route("/confirm/<token>")
@writes_on_get  # the link confirms the address
def confirm_email(token):
    user = link_user(token, CONFIRM)
    if user is None:
        return render_page("auth/link_invalid.html", None, 400,
                           what="This confirmation link is not valid any more.")
    submit_form(lambda: account_confirm(user=user), done=lambda _u: None, refused=lambda _e: None)
    flash("Your e-mail address is confirmed. You can book sessions now.", "success")
    return_to = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(return_to or url_for("auth.index"))
    return redirect(url_for("auth.login", next=return_to))


@bp.route("/confirm/resend", methods=["POST"])
@login_required
def resend_confirmation():
    user = current_user._get_current_object()

    def done(_result):
        flash(f"We have sent a new confirmation link to {user.email}.", "success")
        return redirect(url_for("auth.index"))

    return submit_form(lambda: account_confirmation_resend(user=user), done=done, refused=lambda _e: done(None))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = EmailOnlyForm()
    if not form.is_submitted():
        return render_page("auth/forgot.html", form=form)
    if not form.validate():
        return form_error(render_page("auth/forgot.html", form=form))
    return submit_form(lambda: password_reset_request(email=form.email.data),
                       done=lambda _r: render_page("auth/link_sent.html", heading="Check your inbox",
                                                   email=form.email.data, signup=False),
                       refused=lambda error: render_page("auth/forgot.html", form=with_field_errors(form, error)))


def _new_password_page(purpose: str, token: str, action, done_message: str, *, sign_in: bool):
    user = link_user(token, purpose)
    if user is None:
        what = ("This invitation link is not valid any more: it was used, or is older than 7 days. "
                "Ask the clinic for a new one." if purpose == INVITE else
                "This reset link is not valid any more: it was used, or is older than an hour.")
        return render_page("auth/link_invalid.html", None, 400, what=what, purpose=purpose)
    form = NewPasswordForm()
    template = "auth/new_password.html"
    context = {"purpose": purpose, "account": user}
    if not form.is_submitted():
        return render_page(template, form=form, **context)
    if not form.validate():
        return form_error(render_page(template, form=form, **context))

    def done(_user):
        flash(done_message, "success")
        if sign_in:
            start_session(user)
            return redirect(url_for("auth.index"))
        return redirect(url_for("auth.login"))

    return submit_form(lambda: action(user=user, password=form.password.data), done=done,
                       refused=lambda error: render_page(template, form=with_field_errors(form, error), **context))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    return _new_password_page(RESET, token, password_reset,
                              "Your password is changed and your API tokens are revoked. Sign in with the new one.",
                              sign_in=False)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    return _new_password_page(INVITE, token, account_accept_invitation,
                              "Welcome! Your password is set.", sign_in=True)
