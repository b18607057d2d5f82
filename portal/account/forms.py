from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.auth.forms import PASSWORD_HELP
from portal.domain.inputs import MAX_NAME
from portal.domain.passwords import MAX_LENGTH
from portal.web.fields import ZoneField
from portal.web.validators import SafeText


class AccountForm(FlaskForm):
    display_name = StringField("Name", validators=[DataRequired(), SafeText(MAX_NAME)])
    timezone = ZoneField("Time zone")
    reminders_enabled = BooleanField("E-mail me a reminder before each session")



class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                 description=PASSWORD_HELP)


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), SafeText(MAX_NAME)],
                       description="What the token is for, e.g. the script that uses it.")
    expires_days = IntegerField("Expires after (days)", validators=[Optional(), NumberRange(1, 3650)],
                                description="Leave empty for a token that does not expire.")
