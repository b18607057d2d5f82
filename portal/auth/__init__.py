from flask import Blueprint

from portal.policies import PUBLIC

bp = Blueprint("auth", __name__)
bp.allowed_roles = PUBLIC  # sign-in pages; each view redirects signed-in users itself

from portal.auth import views  # noqa: E402,F401
