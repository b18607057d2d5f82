"""Admin and ops pages. The blueprint admits both; admin-only pages say so per route."""
from portal.blueprints import role_blueprint

bp = role_blueprint("admin", __name__, "admin", "ops", url_prefix="/admin")

from portal.admin import audit, cancellations, ops, packages, users, views  # noqa: F401
