"""The forms of the patient's pages."""
from __future__ import annotations

from wtforms import StringField

from portal.domain.inputs import MAX_SHORT_TEXT
from portal.web.forms import PortalForm
from portal.web.validators import SafeText


class BookForm(PortalForm):
    """The review's "Confirm": the start as ISO 8601 and the service (use_package is read from the
    page's link as well)."""

    starts_at = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    use_package = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    service = StringField(validators=[SafeText(MAX_SHORT_TEXT)])
    repeat = StringField(validators=[SafeText(MAX_SHORT_TEXT)])  # "": once; else a series' frequency
    end_date = StringField(validators=[SafeText(MAX_SHORT_TEXT)])  # a series' last date (optional)
