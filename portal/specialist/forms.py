"""The forms of the specialist's "Hours and rates" page. The page shows plain dicts of values and
messages; the services check what the values mean, these forms the text itself."""
from __future__ import annotations

from wtforms import StringField, TextAreaField

from portal.domain.inputs import MAX_NUMBER_CHARS, MAX_REASON, MAX_SHORT_TEXT
from portal.web.forms import PortalForm
from portal.web.validators import SafeText


def _ranges() -> StringField:
    return StringField(validators=[SafeText(MAX_SHORT_TEXT)])


def _number() -> StringField:
    """A number, a date, a time or a choice's value: all short."""
    return StringField(validators=[SafeText(MAX_NUMBER_CHARS)])


class HoursForm(PortalForm):
    """A week of "09:00-12:00, 13:00-17:00" ranges, one field a weekday (day0 is Monday)."""

    day0, day1, day2, day3, day4, day5, day6 = (_ranges() for _ in range(7))


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
