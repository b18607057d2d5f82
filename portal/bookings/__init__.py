"""Pages about one booking, shared by its patient, its specialist and admins.
Access is per row, through the policy module."""
from flask import Blueprint
from flask_login import login_required

from portal.policies import SIGNED_IN

bp = Blueprint("bookings", __name__, url_prefix="/bookings")
bp.allowed_roles = SIGNED_IN  # any signed-in role; each row is checked by policies.load


@bp.before_request
@login_required
def require_login():
    return None


from portal.bookings import cancel, notes, recordings, views  # noqa: F401
