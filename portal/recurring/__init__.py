"""Pages for recurring series: patients manage their own, specialists see the
series with them, admins see all (rows scoped by portal.policies)."""
from portal.blueprints import role_blueprint

bp = role_blueprint("recurring", __name__, "patient", "specialist", "admin", url_prefix="/recurring")

from portal.recurring import views  # noqa: F401
