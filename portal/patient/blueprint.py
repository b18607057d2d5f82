"""The patient blueprint: patients only."""
from portal.web.blueprints import role_blueprint

bp = role_blueprint("patient", __name__.rsplit(".", 1)[0], "patient", url_prefix="/patient")
