"""Pages about one booking, shared by its patient, its specialist and admins.
Access is per row, through the policy module."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("bookings", __name__, url_prefix="/bookings")


@bp.before_request
@login_required
def require_login():
    return None


from portal.bookings import views, notes, recordings  # noqa: E402,F401
