"""The forms of the booking page's sections."""
from __future__ import annotations

from wtforms import StringField, TextAreaField

from portal.domain.inputs import MAX_LONG_TEXT, MAX_METADATA_BYTES, MAX_REASON, MAX_SHORT_TEXT
from portal.web.forms import PortalForm
from portal.web.validators import SafeText


def _long_text() -> TextAreaField:
    return TextAreaField(validators=[SafeText(MAX_LONG_TEXT, multiline=True)])


def _short_text() -> StringField:
    return StringField(validators=[SafeText(MAX_SHORT_TEXT)])


class NoteForm(PortalForm):
    """A session note: three texts the patient reads, a private one they never see, the known
    details, and free-form "key: value" lines."""

    notes = _long_text()
    follow_up_actions = _long_text()
    next_session_recommendation = _long_text()
    private_notes = _long_text()
    mood_level = _short_text()
    engagement = _short_text()
    homework_completion = _short_text()
    extra = TextAreaField(validators=[SafeText(MAX_METADATA_BYTES, multiline=True)])


class AmendmentForm(PortalForm):
    """An amendment to a locked note (required and bounded by the service too)."""

    text = _long_text()


class RecordingUploadForm(PortalForm):
    """The recording upload's fields beside its file: typed values, checked by the service."""

    duration_seconds = StringField("Duration in seconds", validators=[SafeText(MAX_SHORT_TEXT)])
    expires_at = StringField("Delete after", validators=[SafeText(MAX_SHORT_TEXT)])


class CancelForm(PortalForm):
    """The cancel dialog: the reason (required and bounded by the service) and where the answer goes."""

    reason = TextAreaField(validators=[SafeText(MAX_REASON, multiline=True)])
    target = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    # An admin's: "patient" (on the patient's behalf) or "clinic"; checked by the service.
    cancelled_for = StringField(validators=[SafeText(MAX_SHORT_TEXT)])


class MoveForm(PortalForm):
    """The move's confirm step: the chosen start (ISO 8601) and an optional reason."""

    starts_at = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    reason = TextAreaField(validators=[SafeText(MAX_REASON, multiline=True)])


class AttendanceForm(PortalForm):
    """Attended ("completed") or no-show ("no_show"), checked by the service."""

    status = StringField(validators=[SafeText(MAX_SHORT_TEXT)])


class BookForClientForm(PortalForm):
    """Staff booking a client: the chosen start (patient and specialist ride in the page's hidden fields)."""

    starts_at = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    patient = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    specialist = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
