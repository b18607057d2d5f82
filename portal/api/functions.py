"""The spec's edge functions as JSON endpoints under /functions.

Each function lives in its own module and adds its route to `bp`."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("functions", __name__, url_prefix="/functions")
# Any signed-in role may call; each function checks rows through the policies.
bp.allowed_roles = ("patient", "specialist", "admin", "ops")


def load_functions() -> None:
    """Import the modules that register routes on `bp`; each feature adds its own."""
    from portal.api import (
        function_booking_cancel,  # noqa: F401
        recurring_dispatcher,  # noqa: F401
    )
