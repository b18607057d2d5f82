"""The forms of the package panel and of the enrolments section (specialist's and admin's pages).

The panel's templates show plain dicts of values and messages (`values`, `error_messages`);
the package service checks the values' meaning, these forms the text itself."""
from __future__ import annotations

from wtforms import StringField, TextAreaField

from portal.domain.inputs import MAX_NAME, MAX_NUMBER_CHARS
from portal.services.enrolments import REFERENCE_MAX
from portal.services.packages import MAX_DESCRIPTION
from portal.web.forms import PortalForm
from portal.web.validators import SafeText


class PackageForm(PortalForm):
    name = StringField(validators=[SafeText(MAX_NAME)])
    description = TextAreaField(validators=[SafeText(MAX_DESCRIPTION, multiline=True)])
    session_count = StringField(validators=[SafeText(MAX_NUMBER_CHARS)])
    price = StringField(validators=[SafeText(MAX_NUMBER_CHARS)])
    currency = StringField(validators=[SafeText(MAX_NUMBER_CHARS)])
    discount_percentage = StringField(validators=[SafeText(MAX_NUMBER_CHARS)])
    valid_for_days = StringField(validators=[SafeText(MAX_NUMBER_CHARS)])


class AdminPackageForm(PackageForm):
    specialist_id = StringField(validators=[SafeText(MAX_NAME)])


class MarkPaidForm(PortalForm):
    reference = StringField(validators=[SafeText(REFERENCE_MAX)])
