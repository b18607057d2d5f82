"""The account blueprint: every signed-in role, each on their own account only."""
from portal.models import Role
from portal.web.blueprints import role_blueprint

bp = role_blueprint("account", __name__.rsplit(".", 1)[0], *Role, url_prefix="/account")
