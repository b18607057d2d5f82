"""Forms of the admin pages that more than one view renders (the invitation form sits on the users page)."""
from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from portal.domain.inputs import MAX_EMAIL, MAX_NAME
from portal.models import ROLES, Role
from portal.web.fields import ZoneField
from portal.web.forms import PortalForm
from portal.web.validators import SafeText


class InviteForm(FlaskForm):
    display_name = StringField("Name", validators=[DataRequired(), SafeText(MAX_NAME)])
    email = EmailField("E-mail", validators=[DataRequired(), SafeText(MAX_EMAIL)])
    role = SelectField("Role", choices=list(ROLES), default=Role.SPECIALIST.value)
    timezone = ZoneField("Time zone")
    title = StringField("Title (specialists)", validators=[Optional(), SafeText(MAX_NAME)],
                        description="Shown to patients, e.g. \"Physiotherapist\".")



def invite_form(formdata=None) -> InviteForm:
    form = InviteForm(formdata=formdata)
    if formdata is None:
        form.timezone.process_data(current_app.config["PORTAL_TIMEZONE"])
    return form


class UserChangeForm(PortalForm):
    """A user row's role select or its activate/deactivate button (the service checks the values)."""

    role = StringField(validators=[SafeText(MAX_NAME)])
    active = StringField(validators=[SafeText(MAX_NAME)])
