"""/account: one settings page with sections (name, zone and reminders; password; calendar feed; API
tokens for staff; sessions). /account/tokens answers as a redirect to its section."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.account.blueprint import bp
from portal.account.forms import AccountForm, PasswordChangeForm, TokenForm
from portal.auth.loading import start_session
from portal.models import utcnow
from portal.selectors.users import api_tokens_of
from portal.services.calendar_feed import feed_token
from portal.services.users import (
    account_update,
    api_token_create,
    api_token_revoke,
    password_change,
    user_end_sessions,
)
from portal.web.forms import form_error, submit_form, with_field_errors
from portal.web.rendering import render_page
from portal.web.templating import offers_api_tokens


def _settings_page(account_form=None, password_form=None, token_form=None, new_token: str | None = None):
    account_form = account_form or AccountForm(
        formdata=None, display_name=current_user.display_name, timezone=current_user.timezone,
        reminders_enabled=current_user.reminders_enabled)
    tokens = api_tokens_of(actor=current_user, user=current_user)
    return render_page(
        "account/settings.html", account_form=account_form,
        password_form=password_form or PasswordChangeForm(formdata=None),
        feed_url=url_for("feeds.feed", token=feed_token(current_user), _external=True),
        # A patient sees the section only for tokens an admin or the command line issued them.
        show_tokens=offers_api_tokens(current_user) or bool(tokens), tokens=tokens, now_utc=utcnow(),
        token_form=token_form or TokenForm(formdata=None), new_token=new_token,
        revoke_endpoint="account.tokens_revoke")


@bp.route("", methods=["GET"])
def settings():
    return _settings_page()


@bp.route("", methods=["POST"])
def settings_save():
    form = AccountForm()
    if not form.validate():
        return form_error(_settings_page(account_form=form))

    def done(_user):
        flash("Saved.", "success")
        return redirect(url_for("account.settings"))

    user = current_user._get_current_object()
    return submit_form(lambda: account_update(user=user, display_name=form.display_name.data,
                                              timezone=form.timezone.data,
                                              reminders_enabled=form.reminders_enabled.data),
                       done=done, refused=lambda error: _settings_page(account_form=with_field_errors(form, error)))


@bp.route("/password", methods=["POST"])
def password_save():
    form = PasswordChangeForm()
    if not form.validate():
        return form_error(_settings_page(password_form=form))

    def done(user):
        start_session(user)  # this browser stays signed in; every other session has ended
        flash("Your password is changed. Every other session has been signed out and your API tokens are revoked.",
              "success")
        return redirect(url_for("account.settings"))

    user = current_user._get_current_object()
    return submit_form(lambda: password_change(user=user, current_password=form.current_password.data,
                                               new_password=form.new_password.data),
                       done=done, refused=lambda error: _settings_page(password_form=with_field_errors(form, error)))


@bp.route("/sign-out-everywhere", methods=["POST"])
def sign_out_everywhere():
    def done(_result):
        start_session(current_user._get_current_object())
        flash("Every other session and device has been signed out.", "success")
        return redirect(url_for("account.settings"))

    return submit_form(lambda: user_end_sessions(user=current_user._get_current_object()), done=done,
                       refused=lambda error: _settings_page())


@bp.route("/tokens", methods=["GET"])
def tokens():
    return redirect(url_for("account.settings", _anchor="api-tokens"))


@bp.route("/tokens", methods=["POST"])
def tokens_create():
    form = TokenForm()
    if not form.validate():
        return form_error(_settings_page(token_form=form))
    # The token is shown once, in this answer: no redirect, and the page is not cached.
    response = submit_form(
        lambda: api_token_create(user=current_user, name=form.name.data, expires_days=form.expires_days.data),
        done=lambda token: _settings_page(new_token=token),
        refused=lambda error: _settings_page(token_form=with_field_errors(form, error)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<uuid:token_id>/revoke", methods=["POST"])
def tokens_revoke(token_id):
    def done(_row):
        flash("The token is revoked: it stops working at once.", "success")
        return redirect(url_for("account.settings", _anchor="api-tokens"))

    return submit_form(lambda: api_token_revoke(token_id=token_id, actor=current_user), done=done,
                       refused=lambda error: _settings_page(), reraise=(404,))


