"""Users (admins): search, change a role, deactivate or reactivate."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal import policies
from portal.admin.blueprint import bp
from portal.admin.forms import UserChangeForm, invite_form
from portal.extensions import htmx
from portal.models import ROLES, Role, User, utcnow
from portal.selectors.booking_search import bookings_of_person
from portal.selectors.users import api_tokens_of, users_search
from portal.services.user_admin import user_set_active, user_set_role, user_sign_out_everywhere
from portal.services.users import api_token_revoke
from portal.web.blueprints import roles_required
from portal.web.forms import checks_own_text, form_error, submit_form
from portal.web.rendering import render_page


@bp.route("/users")
@roles_required(Role.ADMIN)
def users_list():
    return users_page()


def users_page(invite=None):
    query, role = (request.args.get("q") or "").strip(), request.args.get("role") or ""
    results = users_search(actor=current_user, query=query, role=role, page=request.args.get("page"))
    return render_page("admin/users.html", "user_results", users=results.items, total=results.total,
                       results=results, q=query, role=role, roles=ROLES, invite=invite or invite_form())


def _row(user, **context):
    return render_page("admin/users.html", "user_row", u=user, roles=ROLES, **context)


def _row_or_redirect(user, error: str | None = None, notice: str | None = None):
    if htmx:
        return _row(user, row_error=error, row_notice=notice)
    if error or notice:
        flash(error or notice, "error" if error else "success")
    back = request.referrer if (request.referrer or "").startswith(request.host_url) else ""
    return redirect(back if back and "/deactivate" not in back else url_for("admin.users_list"))


def _said(user) -> str:
    """What a change did, in words, for the row and the flash message."""
    if not user.is_active:
        return f"{user.display_name} is deactivated: signed out everywhere, API tokens revoked."
    return f"{user.display_name} is active ({user.role})."


def _refused(user_id, message: str):
    return _row_or_redirect(policies.load(User, user_id, current_user), message)


def _apply(change, user_id, form: UserChangeForm, **kwargs):
    if not form.validate():
        return form_error(_refused(user_id, next(iter(form.error_messages().values()))))
    return submit_form(lambda: change(actor=current_user, user_id=user_id, **kwargs),
                       done=lambda user: _row_or_redirect(user, notice=_said(user)),
                       refused=lambda error: _refused(user_id, error.message), reraise=(404,))


@bp.route("/users/<uuid:user_id>/role", methods=["POST"])
@roles_required(Role.ADMIN)
@checks_own_text
def users_set_role(user_id):
    form = UserChangeForm()
    return _apply(user_set_role, user_id, form, role=form.role.data or "")


@bp.route("/users/<uuid:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
@checks_own_text
def users_set_active(user_id):
    form = UserChangeForm()
    return _apply(user_set_active, user_id, form, active=form.active.data == "1")


@bp.route("/users/<uuid:user_id>/row")
@roles_required(Role.ADMIN)
def users_row(user_id):
    """One row of the users table, as it stands (a confirmation step dismissed); a browser
    without htmx gets the table."""
    user = policies.load(User, user_id, current_user)
    return _row(user) if htmx else redirect(url_for("admin.users_list"))


@bp.route("/users/<uuid:user_id>/deactivate")
@roles_required(Role.ADMIN)
def users_confirm_deactivate(user_id):
    """The step before deactivating: the row asks (htmx), or the account page does."""
    user = policies.load(User, user_id, current_user)
    if htmx:
        return _row(user, confirming=True)
    return _detail(user, confirming=True)


@bp.route("/users/<uuid:user_id>")
@roles_required(Role.ADMIN)
def users_detail(user_id):
    return _detail(policies.load(User, user_id, current_user))


def _detail(user, confirming: bool = False):
    return render_page("admin/user_detail.html", u=user, confirming=confirming, roles=ROLES,
                       tokens=api_tokens_of(actor=current_user, user=user), now_utc=utcnow(),
                       revoke_endpoint="admin.users_token_revoke", revoke_args={"user_id": user.id},
                       bookings=bookings_of_person(viewer=current_user, user=user))


def _back_to_detail(user_id, message: str):
    def done(_result):
        flash(message, "success")
        return redirect(url_for("admin.users_detail", user_id=user_id))
    return done


@bp.route("/users/<uuid:user_id>/sign-out-everywhere", methods=["POST"])
@roles_required(Role.ADMIN)
def users_sign_out_everywhere(user_id):
    return submit_form(lambda: user_sign_out_everywhere(actor=current_user, user_id=user_id),
                       done=_back_to_detail(user_id, "Every session of this account has ended."),
                       refused=lambda error: _row_or_redirect(None, error.message), reraise=(403, 404))


@bp.route("/users/<uuid:user_id>/tokens/<uuid:token_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def users_token_revoke(user_id, token_id):
    return submit_form(lambda: api_token_revoke(token_id=token_id, actor=current_user),
                       done=_back_to_detail(user_id, "The token is revoked."),
                       refused=lambda error: _row_or_redirect(None, error.message), reraise=(403, 404))
