from portal.blueprints import role_blueprint

bp = role_blueprint("patient", __name__, "patient", url_prefix="/patient")

from portal.patient import views  # noqa: E402,F401
from portal.patient import find  # noqa: E402,F401
