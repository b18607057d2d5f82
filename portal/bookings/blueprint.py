"""The bookings blueprint: any signed-in role; each row is checked by policies.load."""
from flask import Blueprint
from flask_login import login_required

from portal.web.blueprints import SIGNED_IN

bp = Blueprint("bookings", __name__.rsplit(".", 1)[0], url_prefix="/bookings")
bp.allowed_roles = SIGNED_IN  # any signed-in role; each row is checked by policies.load


@bp.before_request
@login_required
def require_login():
    return None
