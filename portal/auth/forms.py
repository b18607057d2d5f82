from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from portal.domain.inputs import MAX_EMAIL, MAX_NAME
from portal.domain.passwords import MAX_LENGTH, MIN_LENGTH
from portal.web.fields import ZoneField
from portal.web.validators import SafeText

PASSWORD_HELP = f"At least {MIN_LENGTH} characters; not your e-mail address; not a common password."


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), SafeText(MAX_EMAIL)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in on this device")


class SignupForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), SafeText(MAX_NAME)])
    email = EmailField("E-mail", validators=[DataRequired(), SafeText(MAX_EMAIL)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description=PASSWORD_HELP)
    timezone = ZoneField("Time zone", description="Times in the portal are shown in this zone.")



class EmailOnlyForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), SafeText(MAX_EMAIL)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description=PASSWORD_HELP)
