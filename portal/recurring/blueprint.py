"""The recurring-series blueprint: patients, specialists and admins."""
from portal.models import Role
from portal.web.blueprints import role_blueprint

bp = role_blueprint(
    "recurring", __name__.rsplit(".", 1)[0], Role.PATIENT, Role.SPECIALIST, Role.ADMIN, url_prefix="/recurring"
)
