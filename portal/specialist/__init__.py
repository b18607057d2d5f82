"""A specialist's own pages: dashboard, calendar and exceptions, hours and rates, packages, notes."""
from portal.specialist.blueprint import bp
from portal.specialist import availability, calendar, notes, packages, views  # noqa: F401

__all__ = ["bp"]
