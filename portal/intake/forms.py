from wtforms import BooleanField

from portal.web.forms import PortalForm


class IntakePageForm(PortalForm):
    """The consents; the questionnaire's own fields are read by the view (their number varies)."""

    agree_terms = BooleanField("I agree to the clinic's terms")
    agree_recording = BooleanField("I agree to being recorded")


class QuestionnaireForm(PortalForm):
    """The CSRF token; the rows' fields are read by the view (their number varies)."""
