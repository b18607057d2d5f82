from portal.blueprints import role_blueprint

bp = role_blueprint("specialist", __name__, "specialist", url_prefix="/specialist")

from portal.specialist import availability, calendar, notes, packages, views  # noqa: F401
