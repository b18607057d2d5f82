"""The specialist blueprint: specialists only."""
from portal.web.blueprints import role_blueprint

bp = role_blueprint("specialist", __name__.rsplit(".", 1)[0], "specialist", url_prefix="/specialist")
