from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.web.forms import PortalForm


class IntakePageForm(PortalForm):
    """The consents; the questionnaire's own fields are read by the view (their number varies)."""

    agree_terms = BooleanField("I agree to the clinic's terms")
    agree_recording = BooleanField("I agree to being recorded")


class QuestionnaireForm(PortalForm):
    """The CSRF token; the rows' fields are read by the view (their number varies)."""


class TermsForm(PortalForm):
    body = TextAreaField("The terms", validators=[DataRequired("Give the terms' text."), Length(max=20_000)],
                         description="Publishing adds a version: patients agree to it at their next booking.")
