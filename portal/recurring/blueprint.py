"""The recurring-series blueprint: patients, specialists and admins."""
from portal.web.blueprints import role_blueprint

bp = role_blueprint(
    "recurring", __name__.rsplit(".", 1)[0], "patient", "specialist", "admin", url_prefix="/recurring"
)
