"""The admin blueprint. The blueprint admits admins and ops; admin-only pages say so per route."""
from portal.models import Role
from portal.web.blueprints import role_blueprint

bp = role_blueprint("admin", __name__.rsplit(".", 1)[0], Role.ADMIN, Role.OPS, url_prefix="/admin")
