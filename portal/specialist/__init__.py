"""A specialist's own pages: dashboard, calendar and exceptions, hours, rates and services, packages, notes,
clients."""
from portal.specialist import availability, calendar, clients, notes, packages, services, views  # noqa: F401
from portal.specialist.blueprint import bp

__all__ = ["bp"]
