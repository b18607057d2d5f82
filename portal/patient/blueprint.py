"""The patient blueprint: patients only."""
from portal.models import Role
from portal.web.blueprints import role_blueprint

bp = role_blueprint("patient", __name__.rsplit(".", 1)[0], Role.PATIENT, url_prefix="/patient")
