from portal.blueprints import role_blueprint

bp = role_blueprint("specialist", __name__, "specialist", url_prefix="/specialist")

from portal.specialist import views  # noqa: E402,F401
from portal.specialist import availability, calendar  # noqa: E402,F401
