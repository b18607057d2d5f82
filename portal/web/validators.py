"""WTForms validators for portal.domain.inputs' bounds: the pages refuse what the API refuses,
with the same messages, as form errors."""
from __future__ import annotations

from wtforms.validators import StopValidation, ValidationError

from portal.domain.inputs import EARLIEST_DATE, LATEST_DATE, date_in_window, text_problem


class SafeText:
    """No control characters (tab and newline allowed when `multiline`), at most `max_length`."""

    def __init__(self, max_length: int, *, multiline: bool = False) -> None:
        self.max_length, self.multiline = max_length, multiline
        self.field_flags = {"maxlength": max_length}

    def __call__(self, form, field) -> None:
        if field.data is None:
            return
        problem = text_problem(field.data, max_length=self.max_length, multiline=self.multiline)
        if problem:
            raise StopValidation(problem)


class DateInWindow:
    """A date between portal.domain.inputs.EARLIEST_DATE and LATEST_DATE."""

    message = f"Use a date between {EARLIEST_DATE} and {LATEST_DATE}."

    def __call__(self, form, field) -> None:
        if field.data is not None and not date_in_window(field.data):
            raise ValidationError(self.message)
