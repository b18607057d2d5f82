"""A patient's own pages: dashboard, finding a specialist and booking."""
from portal.patient import packages, views  # noqa: F401
from portal.patient.blueprint import bp

__all__ = ["bp"]
