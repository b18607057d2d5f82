"""A specialist's own pages: dashboard, calendar and exceptions, hours and rates, packages, notes."""
from portal.specialist import availability, calendar, clients, notes, packages, views  # noqa: F401
from portal.specialist.blueprint import bp

__all__ = ["bp"]
