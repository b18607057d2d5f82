from portal.blueprints import role_blueprint

bp = role_blueprint("patient", __name__, "patient", url_prefix="/patient")

from portal.patient import (
    find,  # noqa: F401
    views,  # noqa: F401
)
