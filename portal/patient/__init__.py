"""A patient's own pages: dashboard, finding a specialist and booking."""
from portal.patient.blueprint import bp
from portal.patient import find, views  # noqa: F401

__all__ = ["bp"]
