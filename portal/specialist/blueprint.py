"""The specialist blueprint: specialists only."""
from portal.models import Role
from portal.web.blueprints import role_blueprint

bp = role_blueprint("specialist", __name__.rsplit(".", 1)[0], Role.SPECIALIST, url_prefix="/specialist")
