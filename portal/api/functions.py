"""The spec's edge functions as JSON endpoints under /functions.

Each function lives in its own module and adds its route to `bp`;
portal.api.configure_api imports them."""
from __future__ import annotations

from flask import Blueprint

from portal.models import Role

bp = Blueprint("functions", __name__, url_prefix="/functions")
# Any signed-in role may call; each function checks rows through the policies.
bp.allowed_roles = tuple(Role)

