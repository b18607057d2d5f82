"""The spec's edge functions, as plain JSON endpoints under /functions."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("functions", __name__, url_prefix="/functions")
