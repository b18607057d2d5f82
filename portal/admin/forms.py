"""Forms of the admin pages that more than one view renders (the invitation form sits on the users page)."""
from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.auth.forms import timezone_choices
from portal.models import ROLES, Role


class InviteForm(FlaskForm):
    display_name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    role = SelectField("Role", choices=list(ROLES), default=Role.SPECIALIST.value)
    timezone = SelectField("Time zone", choices=[])
    title = StringField("Title (specialists)", validators=[Optional(), Length(max=120)],
                        description="Shown to patients, e.g. \"Physiotherapist\".")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()


def invite_form(formdata=None) -> InviteForm:
    form = InviteForm(formdata=formdata)
    if formdata is None:
        form.timezone.data = current_app.config["PORTAL_TIMEZONE"]
    return form
