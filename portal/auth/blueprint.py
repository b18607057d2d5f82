"""The auth blueprint: sign-in pages, open to everyone."""
from flask import Blueprint

from portal.web.blueprints import PUBLIC

bp = Blueprint("auth", __name__.rsplit(".", 1)[0])
bp.allowed_roles = PUBLIC  # sign-in pages; each view redirects signed-in users itself
