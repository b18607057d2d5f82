"""The directory blueprint: its reads are public (PUBLIC), its one write is a patient's."""
from flask import Blueprint

from portal.web.blueprints import PUBLIC

bp = Blueprint("specialists", __name__.rsplit(".", 1)[0], url_prefix="/specialists")
bp.allowed_roles = PUBLIC
