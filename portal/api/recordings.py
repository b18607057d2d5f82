"""/api/v1/meeting-recordings."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_recordings", __name__, url_prefix="/api/v1/meeting-recordings",
                description="Meeting recordings and their signed links")
