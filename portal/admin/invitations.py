"""Inviting people (admins): name, e-mail, role, and for a specialist the profile's title and zone.

The person gets a signed single-use link, valid 7 days, to choose a password
(portal.services.accounts.account_invite)."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.admin.blueprint import bp
from portal.admin.forms import InviteForm
from portal.admin.users import users_page
from portal.models import Role
from portal.services.accounts import account_invite
from portal.web.blueprints import roles_required
from portal.web.forms import submit_form, with_field_errors


@bp.route("/users/invite", methods=["POST"])
@roles_required(Role.ADMIN)
def users_invite():
    from portal.web.forms import form_error

    form = InviteForm()
    if not form.validate():
        return form_error(users_page(invite=form))

    def done(user):
        flash(f"Invitation sent to {user.email}. The link works once, for 7 days.", "success")
        return redirect(url_for("admin.users_list"))

    def refused(error):
        return users_page(invite=with_field_errors(form, error))

    return submit_form(lambda: account_invite(actor=current_user, email=form.email.data,
                                              display_name=form.display_name.data, role=form.role.data,
                                              timezone=form.timezone.data, title=form.title.data or ""),
                       done=done, refused=refused)
