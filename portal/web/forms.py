"""One way to post a form: the service call in a savepoint, then the commit, or the
form again with the refusal in words.

A refused form answers 422 whether htmx sent it or not: base.html tells htmx to
swap 422 answers into the form's target, so no view picks a status per client.
The savepoint means a refusal undoes only this attempt, and the refusal is
noted for the failure audit that portal.web.refusals writes at the request's end."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Response, make_response
from flask_wtf import FlaskForm

from portal.domain.inputs import has_control_chars
from portal.errors import ServiceError
from portal.extensions import db
from portal.models.transactions import commit_as_written
from portal.web.refusals import note_refusal

T = TypeVar("T")

FORM_ERROR = 422
# Refusals about who is asking, not what they typed: the error page, not the form.
NOT_A_FORM_ERROR = (403, 404)


def form_error(response) -> Response:
    """A form shown again with its errors. A refusal shown elsewhere (a flash message and a
    redirect back) keeps its redirect."""
    response = make_response(response)
    if response.status_code < 300:
        response.status_code = FORM_ERROR
    return response


def submit_form(action: Callable[[], T], *, done: Callable[[T], Response],
                refused: Callable[[ServiceError], Response], reraise: tuple[int, ...] = (),
                as_written: bool = False) -> Response:
    """`done(result)` after `action()` succeeded and was committed, or `refused(error)` as a 422.

    Statuses in `reraise` (e.g. NOT_A_FORM_ERROR) propagate to the error pages instead. With
    `as_written`, `done` reads the rows as the action wrote them (commit_as_written) instead of
    reading each back after the commit: for an action that wrote its result through the ORM."""
    try:
        with db.session.begin_nested():
            result = action()
    except ServiceError as error:
        if error.http_status in reraise:
            raise
        note_refusal(error)
        return form_error(refused(error))
    if as_written:
        commit_as_written()
    else:
        db.session.commit()
    return done(result)


def with_field_errors(form, error: ServiceError):
    """`form` showing a refusal: each field the service named gets its message, and a refusal that
    names none of the form's fields is shown above the form."""
    for name, message in error.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    if not any(name in form for name in error.fields):
        form.form_errors.append(error.message)
    return form


CONTROL_CHARS = "Remove the control characters (such as NUL) from this value."


class PortalForm(FlaskForm):
    """A page's form that answers bad text itself, as an in-form error: no field it holds takes
    a control character (SafeText on a field also bounds its length).

    A view whose form is a PortalForm is marked `checks_own_text`, so the request guard
    (portal.web.limits) leaves its body to the form instead of answering 400."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if not field.errors and any(isinstance(value, str) and has_control_chars(value, multiline=True)
                                        for value in field.raw_data or ()):
                field.errors = [CONTROL_CHARS]
                valid = False
        return valid

    def values(self) -> dict[str, str]:
        """Each field as typed (its default, else "", when not posted), to show the form again."""
        return {field.name: field.data or "" for field in self if field.name != "csrf_token"}

    def error_messages(self) -> dict[str, str]:
        """The first error of each field, as the pages that render plain dicts show them."""
        return {name: messages[0] for name, messages in self.errors.items() if messages}


def checks_own_text(view):
    """Mark a view that reads its body through a PortalForm only (see PortalForm)."""
    view.checks_own_text = True
    return view
