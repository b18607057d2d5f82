from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, TimeField
from wtforms.validators import DataRequired, Optional

FREQUENCY_CHOICES = [SelectChoice("weekly", "Every week"), SelectChoice("biweekly", "Every two weeks"),
                     SelectChoice("monthly", "Every month")]


class SeriesForm(FlaskForm):
    specialist_id = SelectField("Specialist", validators=[DataRequired()], choices=[])
    frequency = SelectField("How often", choices=FREQUENCY_CHOICES, default="weekly")
    start_date = DateField("First session", validators=[DataRequired()])
    end_date = DateField("Last date (optional)", validators=[Optional()])
    time_of_day = TimeField("Time", default=time(10), validators=[DataRequired()])
