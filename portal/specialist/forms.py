"""The forms of the specialist's "Hours and rates" page. The page shows plain dicts of values and
messages; the services check what the values mean, these forms the text itself."""
from __future__ import annotations

from wtforms import Field, StringField, TextAreaField
from wtforms.validators import ValidationError

from portal.domain.inputs import MAX_NUMBER_CHARS, MAX_REASON, MAX_SHORT_TEXT
from portal.web.forms import PortalForm
from portal.web.validators import SafeText


def _ranges() -> StringField:
    return StringField(validators=[SafeText(MAX_SHORT_TEXT)])


def _number() -> StringField:
    """A number, a date, a time or a choice's value: all short."""
    return StringField(validators=[SafeText(MAX_NUMBER_CHARS)])


class TimeList(Field):
    """Every value posted under one name, in order: a day's start (or end) times."""

    def process_formdata(self, valuelist):
        self.data = list(valuelist)

    def _value(self):
        return ""


def _short_values(form, field) -> None:
    if any(len(value) > MAX_NUMBER_CHARS for value in field.data or ()):
        raise ValidationError("Give times as HH:MM.")


def _times() -> TimeList:
    return TimeList(validators=[_short_values], default=list)


class HoursForm(PortalForm):
    """A week of ranges: `start<d>` and `end<d>` posted once per range of weekday d (0 is Monday),
    by the page's time pickers."""

    start0, start1, start2, start3, start4, start5, start6 = (_times() for _ in range(7))
    end0, end1, end2, end3, end4, end5, end6 = (_times() for _ in range(7))


class RateForm(PortalForm):
    duration_minutes = _number()
    price = _number()
    currency = _number()
    effective_from = _number()


class BookingRulesForm(PortalForm):
    max_upcoming_per_patient = _number()
    min_notice_hours = _number()
    booking_window_days = _number()
    buffer_before_minutes = _number()
    buffer_after_minutes = _number()
    slot_interval_minutes = _number()


class ServiceForm(PortalForm):
    """A new service, or a change to one (a new length and price from a date, or a toggle)."""

    name = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    description = TextAreaField(validators=[SafeText(MAX_REASON, multiline=True)])
    duration_minutes = _number()
    price = _number()
    currency = _number()
    effective_from = _number()
    action = _number()


class LateCancelForm(PortalForm):
    late_cancel_notice_hours = _number()


class BlockForm(PortalForm):
    """An exception on the calendar's day panel; the cancel reason goes to the affected patients."""

    reason = _number()
    span = StringField(default="all_day", validators=[SafeText(MAX_NUMBER_CHARS)])
    start_time = _number()
    end_time = _number()
    kind = _number()
    affected = _number()
    cancel_reason = TextAreaField(validators=[SafeText(MAX_REASON, multiline=True)])
