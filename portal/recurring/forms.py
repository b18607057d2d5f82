from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Optional

from portal.domain.inputs import MAX_NUMBER_CHARS, MAX_REASON
from portal.web.forms import PortalForm
from portal.web.validators import SafeText

FREQUENCY_CHOICES = [SelectChoice("weekly", "Every week"), SelectChoice("biweekly", "Every two weeks"),
                     SelectChoice("monthly", "Every month")]


class SeriesForm(FlaskForm):
    specialist_id = SelectField("Specialist", validators=[DataRequired()], choices=[])
    frequency = SelectField("How often", choices=FREQUENCY_CHOICES, default="weekly")
    start_date = DateField("First session", validators=[DataRequired()])
    end_date = DateField("Last date (optional)", validators=[Optional()])
    time_of_day = TimeField("Time", default=time(10), validators=[DataRequired()])


class CancelFollowingForm(PortalForm):
    """"Cancel this and following": the date is checked by the service, which names it."""

    from_date = StringField(validators=[SafeText(MAX_NUMBER_CHARS)])
    reason = TextAreaField(validators=[SafeText(MAX_REASON, multiline=True)])
