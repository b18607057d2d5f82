"""A specialist's own pages: dashboard, calendar and exceptions, hours, rates and services, packages, notes."""
from portal.specialist import availability, calendar, notes, packages, services, views  # noqa: F401
from portal.specialist.blueprint import bp

__all__ = ["bp"]
